output "asterisk_private_ip" {
  description = "Private IP of the Asterisk host."
  value       = aws_instance.asterisk.private_ip
}
