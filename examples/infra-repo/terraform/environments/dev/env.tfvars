environment            = "dev"
aws_region             = "us-east-1"
availability_zones     = ["us-east-1a", "us-east-1b"]
vpc_cidr               = "10.10.0.0/16"
asterisk_ami_id        = "ami-0123456789abcdef0"
asterisk_instance_type = "t3.medium"
db_instance_class      = "db.t4g.micro"
lambda_code_bucket     = "voice-campaign-dev-lambda-code"
