output "campaign_dialer_security_group_id" {
  description = "Security group of the campaign-dialer function."
  value       = aws_security_group.function["campaign_dialer"].id
}

output "campaign_dialer_role_name" {
  description = "IAM role of the campaign-dialer function."
  value       = aws_iam_role.function["campaign_dialer"].name
}

output "call_results_security_group_id" {
  description = "Security group of the call-results function."
  value       = aws_security_group.function["call_results"].id
}

output "call_results_role_name" {
  description = "IAM role of the call-results function."
  value       = aws_iam_role.function["call_results"].name
}
