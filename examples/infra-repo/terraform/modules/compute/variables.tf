variable "name" {
  description = "Prefix of every resource name."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the Asterisk host."
  type        = string
}

variable "subnet_id" {
  description = "Private subnet of the Asterisk host."
  type        = string
}

variable "ami_id" {
  description = "AMI of the Asterisk host."
  type        = string
}

variable "instance_type" {
  description = "EC2 type of the Asterisk host."
  type        = string
}

variable "carrier_cidrs" {
  description = "Addresses of the SIP carrier."
  type        = list(string)
  default     = []
}
