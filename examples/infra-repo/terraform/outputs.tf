output "asterisk_private_ip" {
  description = "Private IP of the Asterisk host."
  value       = module.compute.asterisk_private_ip
}

output "postgres_endpoint" {
  description = "Address of PostgreSQL, the primary store."
  value       = module.data.postgres_endpoint
}
