output "spoke" {
  description = "This spoke, as the hub's expected_spokes names it (<account>/<region>)."
  value       = "${data.aws_caller_identity.current.account_id}/${local.region}"

  precondition {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", local.region))
    error_message = "The workspace \"${terraform.workspace}\" is not named after an AWS region: create one per region, for example `terraform workspace new eu-west-1`."
  }
}

output "team_topic_arns" {
  description = "Where this spoke publishes each team's alerts: the hub's team topics."
  value       = module.ecr_scan_reporter.team_topic_arns
}

output "function_names" {
  description = "This spoke's functions."
  value       = module.ecr_scan_reporter.function_names
}
