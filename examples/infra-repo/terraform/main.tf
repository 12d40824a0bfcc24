# The voice-campaign system: the Asterisk host (compute), PostgreSQL and, before the
# move, ElastiCache (data), and the Lambda functions that use the cache (lambda).
#
#   terraform init
#   terraform plan -var-file=environments/dev/env.tfvars

terraform {
  required_version = ">= 1.3"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.73, < 7.0"
    }
  }
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = {
      Project     = "voice-campaign"
      Environment = var.environment
    }
  }
}

module "compute" {
  source = "./modules/compute"

  name          = "voice-campaign-${var.environment}"
  vpc_id        = aws_vpc.main.id
  subnet_id     = aws_subnet.private[0].id
  ami_id        = var.asterisk_ami_id
  instance_type = var.asterisk_instance_type
}

module "data" {
  source = "./modules/data"

  name               = "voice-campaign-${var.environment}"
  vpc_id             = aws_vpc.main.id
  private_subnet_ids = aws_subnet.private[*].id
  db_instance_class  = var.db_instance_class
}

module "lambda" {
  source = "./modules/lambda"

  name               = "voice-campaign-${var.environment}"
  vpc_id             = aws_vpc.main.id
  private_subnet_ids = aws_subnet.private[*].id
  code_bucket        = var.lambda_code_bucket
}
