variable "environment" {
  description = "Environment name: dev or prod."
  type        = string
}

variable "aws_region" {
  description = "Region of every resource of this environment."
  type        = string
}

variable "availability_zones" {
  description = "Zones of the private subnets (two, for PostgreSQL and ElastiCache Multi-AZ)."
  type        = list(string)
}

variable "vpc_cidr" {
  description = "CIDR of the environment's VPC."
  type        = string
}

variable "asterisk_ami_id" {
  description = "AMI of the Asterisk host (Debian 12)."
  type        = string
}

variable "asterisk_instance_type" {
  description = "EC2 type of the Asterisk host."
  type        = string
}

variable "db_instance_class" {
  description = "RDS class of PostgreSQL."
  type        = string
}

variable "lambda_code_bucket" {
  description = "S3 bucket holding the Lambda functions' deployment packages."
  type        = string
}
