variable "name" {
  description = "Prefix of every resource name."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the data stores."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets of the data stores."
  type        = list(string)
}

variable "db_instance_class" {
  description = "RDS class of PostgreSQL."
  type        = string
}
