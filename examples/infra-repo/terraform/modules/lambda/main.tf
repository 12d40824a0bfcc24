# The two Lambda functions of the campaign system, in the VPC's private subnets: each
# with its own security group and IAM role.

locals {
  functions = {
    campaign_dialer = {
      name    = "campaign-dialer"
      handler = "dialer.handler"
    }
    call_results = {
      name    = "call-results"
      handler = "results.handler"
    }
  }
}

resource "aws_security_group" "function" {
  for_each = local.functions

  name        = "${var.name}-${each.value.name}"
  description = "Lambda function ${each.value.name}"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_egress_rule" "function" {
  for_each = local.functions

  security_group_id = aws_security_group.function[each.key].id
  description       = "PostgreSQL, the cache and AWS APIs"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_iam_role" "function" {
  for_each = local.functions

  name = "${var.name}-${each.value.name}"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "lambda.amazonaws.com" }
    }]
  })
}

resource "aws_iam_role_policy_attachment" "vpc_access" {
  for_each = local.functions

  role       = aws_iam_role.function[each.key].name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

resource "aws_lambda_function" "function" {
  for_each = local.functions

  function_name = "${var.name}-${each.value.name}"
  role          = aws_iam_role.function[each.key].arn
  runtime       = "python3.12"
  handler       = each.value.handler
  s3_bucket     = var.code_bucket
  s3_key        = "${each.value.name}.zip"
  timeout       = 30

  vpc_config {
    subnet_ids         = var.private_subnet_ids
    security_group_ids = [aws_security_group.function[each.key].id]
  }

  environment {
    variables = merge({ FUNCTION = each.value.name }, var.extra_environment)
  }
}
