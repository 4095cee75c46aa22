output "spoke_inputs" {
  description = "What every spoke reads (../spoke, terraform_remote_state): the hub's topic, key and bucket, and the teams on their hub topics."
  value = {
    region             = var.region
    topic_arn          = module.hub.topic_arn
    kms_key_arn        = module.hub.kms_key_arn
    report_bucket_name = module.hub.report_bucket_name
    spoke_teams        = module.hub.spoke_teams
  }
}

output "team_topic_arns" {
  description = "Each team's one topic: every spoke's alerts for its repositories, and its organization-wide report."
  value       = module.hub.team_topic_arns
}

output "team_chat_topic_arns" {
  description = "Each team's chat topic (create_chat_topic): one chat configuration per team, in this account."
  value       = module.hub.team_chat_topic_arns
}

output "function_name" {
  description = "The organization report function."
  value       = module.hub.function_name
}
