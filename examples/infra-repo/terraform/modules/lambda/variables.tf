variable "name" {
  description = "Prefix of every resource name."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the functions."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets of the functions."
  type        = list(string)
}

variable "code_bucket" {
  description = "S3 bucket holding the deployment packages (<function>.zip)."
  type        = string
}

variable "extra_environment" {
  description = "Environment variables added to every function."
  type        = map(string)
  default     = {}
}
