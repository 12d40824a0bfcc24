# The Asterisk host: one EC2 instance in a private subnet, its security group and the
# IAM role it runs with.

resource "aws_security_group" "asterisk" {
  name        = "${var.name}-asterisk"
  description = "Asterisk host"
  vpc_id      = var.vpc_id

  tags = {
    Name = "${var.name}-asterisk"
  }
}

# SIP signalling and RTP media from the carrier's addresses.
resource "aws_vpc_security_group_ingress_rule" "sip" {
  for_each = toset(var.carrier_cidrs)

  security_group_id = aws_security_group.asterisk.id
  description       = "SIP from the carrier ${each.value}"
  ip_protocol       = "udp"
  from_port         = 5060
  to_port           = 5060
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_ingress_rule" "rtp" {
  for_each = toset(var.carrier_cidrs)

  security_group_id = aws_security_group.asterisk.id
  description       = "RTP media from the carrier ${each.value}"
  ip_protocol       = "udp"
  from_port         = 10000
  to_port           = 20000
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "all" {
  security_group_id = aws_security_group.asterisk.id
  description       = "Package mirrors, AWS APIs and the carrier"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_iam_role" "asterisk" {
  name = "${var.name}-asterisk"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "ec2.amazonaws.com" }
    }]
  })
}

# Systems Manager instead of SSH keys for operators.
resource "aws_iam_role_policy_attachment" "ssm" {
  role       = aws_iam_role.asterisk.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_instance_profile" "asterisk" {
  name = "${var.name}-asterisk"
  role = aws_iam_role.asterisk.name
}

resource "aws_instance" "asterisk" {
  ami                    = var.ami_id
  instance_type          = var.instance_type
  subnet_id              = var.subnet_id
  vpc_security_group_ids = [aws_security_group.asterisk.id]
  iam_instance_profile   = aws_iam_instance_profile.asterisk.name
  ebs_optimized          = true
  monitoring             = true

  metadata_options {
    http_tokens   = "required"
    http_endpoint = "enabled"
  }

  root_block_device {
    volume_size = 30
    volume_type = "gp3"
    encrypted   = true
  }

  tags = {
    Name = "${var.name}-asterisk"
  }
}
