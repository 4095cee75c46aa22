output "hub_topic_arn" {
  description = "The central topic: every spoke's alerts and reports, and the organization report."
  value       = module.hub.topic_arn
}

output "hub_report_bucket_name" {
  description = "The central bucket: <account>/<region>/latest.json per spoke, organization-report/latest.json."
  value       = module.hub.report_bucket_name
}

output "hub_function_name" {
  description = "The organization report function."
  value       = module.hub.function_name
}

output "spoke_report_functions" {
  description = "The spokes' report functions, by region."
  value       = { "eu-west-1" = module.spoke_eu.function_names["report"], "us-east-1" = module.spoke_us.function_names["report"] }
}
