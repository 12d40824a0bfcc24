output "postgres_endpoint" {
  description = "Address of PostgreSQL."
  value       = aws_db_instance.postgres.address
}

output "postgres_security_group_id" {
  description = "Security group in front of PostgreSQL."
  value       = aws_security_group.postgres.id
}
