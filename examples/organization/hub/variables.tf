variable "region" {
  description = "The security account's region, where the hub runs (the spokes' alerts cross regions to it)."
  type        = string
  default     = "eu-west-1"
}

variable "role_arn" {
  description = "A role of the security account to assume; null: the current credentials."
  type        = string
  default     = null
}

variable "name_prefix" {
  description = "Prefix of the hub's resources (topics <prefix>-notifications and <prefix>-<team>, the function, the bucket)."
  type        = string
  default     = "ecr-scan-hub"
}

variable "organization_id" {
  description = "The AWS Organizations id (o-...) whose accounts are spokes; null: spoke_account_ids."
  type        = string
  default     = null
}

variable "spoke_account_ids" {
  description = "Without an organization: the workload accounts running spokes."
  type        = list(string)
  default     = ["111111111111", "222222222222"]
}

variable "spoke_regions" {
  description = "The regions the spokes run in (the spoke configuration's workspaces)."
  type        = list(string)
  default     = ["eu-west-1", "us-east-1"]
}

variable "expected_spokes" {
  description = "The spokes the organization report expects (<account>/<region>): one that does not report is named silent."
  type        = list(string)
  default     = ["111111111111/eu-west-1", "111111111111/us-east-1", "222222222222/eu-west-1"]
}

variable "security_emails" {
  description = "The security team: every spoke's alerts and reports, and the organization report (the central topic)."
  type        = list(string)
  default     = []
}

variable "teams" {
  description = "The organization's teams, defined once: teams.auto.tfvars.json (modules/hub's teams)."
  type        = any
  default     = []
}

variable "slack_team_id" {
  description = "The Slack workspace (team) ID authorized in Amazon Q Developer in chat applications; null: no chat configuration."
  type        = string
  default     = null
}

variable "team_slack_channels" {
  description = "Team name -> Slack channel ID: one chat configuration per team with a chat topic."
  type        = map(string)
  default     = {}
}

variable "tags" {
  description = "Tags of every resource."
  type        = map(string)
  default     = { example = "organization" }
}
