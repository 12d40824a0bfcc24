# The VPC and its private subnets: the Asterisk host, PostgreSQL and the Lambda
# functions all live in them.

resource "aws_vpc" "main" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = {
    Name = "voice-campaign-${var.environment}"
  }
}

resource "aws_subnet" "private" {
  count = length(var.availability_zones)

  vpc_id            = aws_vpc.main.id
  availability_zone = var.availability_zones[count.index]
  cidr_block        = cidrsubnet(var.vpc_cidr, 8, count.index + 1)

  tags = {
    Name = "voice-campaign-${var.environment}-private-${count.index + 1}"
  }
}
