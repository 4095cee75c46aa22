# The organization end to end (tests/e2e/test_zy_organization.py): a hub (modules/hub) and two spokes (the module) in
# two regions of the emulators, which have one account: the spokes' account is the hub's; one team defined on the
# hub, whose alerts from both spokes reach its one channel. Endpoints come from the environment, as in
# tests/e2e/root; the state path is given at `terraform init`.

terraform {
  required_version = ">= 1.7.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.73.0, < 7.0.0"
    }
  }

  backend "local" {}
}

provider "aws" {
  region = var.region
}

provider "aws" {
  alias  = "b"
  region = var.region_b
}

locals {
  spokes = ["${var.account_id}/${var.region}", "${var.account_id}/${var.region_b}"]
}

# One team, defined once on the hub, with ONE channel: an SQS queue in the hub's region, subscribed once to the
# team's topic on the hub. Both spokes publish the team's alerts there (module.hub.spoke_teams).
resource "aws_sqs_queue" "payments" {
  name                    = "${var.name_prefix}-payments-channel"
  sqs_managed_sse_enabled = true
}

resource "aws_sqs_queue_policy" "payments" {
  queue_url = aws_sqs_queue.payments.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "TheTeamsTopicSends"
      Effect    = "Allow"
      Principal = { Service = "sns.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = aws_sqs_queue.payments.arn
      Condition = { ArnEquals = { "aws:SourceArn" = module.hub.team_topic_arns["payments"] } }
    }]
  })
}

module "hub" {
  source = "../../../modules/hub"

  name_prefix                 = "${var.name_prefix}-hub"
  spoke_account_ids           = [var.account_id]
  spoke_regions               = [var.region, var.region_b]
  report_bucket_name          = "${var.name_prefix}-hub-${var.region}"
  report_bucket_force_destroy = true
  # A third spoke, configured but never deployed: the organization report must name it silent.
  expected_spokes    = concat(local.spokes, [var.third_spoke])
  log_retention_days = 1

  teams = [{
    name             = "payments"
    repository_regex = "^payments/"
    subscriptions    = { channel = { protocol = "sqs", endpoint = aws_sqs_queue.payments.arn } }
  }]
}

module "spoke_a" {
  source = "../../.."

  name_prefix              = var.name_prefix
  create_sns_topic         = false
  sns_topic_arn            = module.hub.topic_arn
  allow_external_sns_topic = true
  teams                    = module.hub.spoke_teams # the team's alerts on its one topic, on the hub
  create_alarms            = false
  create_dashboard         = false
  log_retention_days       = 1

  create_report_bucket        = true
  report_bucket_name          = "${var.name_prefix}-spoke-${var.region}"
  report_bucket_force_destroy = true
  hub_report_bucket_name      = module.hub.report_bucket_name
  hub_kms_key_arn             = module.hub.kms_key_arn
}

module "spoke_b" {
  source = "../../.."
  providers = {
    aws = aws.b
  }

  name_prefix              = var.name_prefix
  create_sns_topic         = false
  sns_topic_arn            = module.hub.topic_arn # another region's topic
  allow_external_sns_topic = true
  teams                    = module.hub.spoke_teams # another region's team topics
  create_alarms            = false
  create_dashboard         = false
  log_retention_days       = 1

  create_report_bucket        = true
  report_bucket_name          = "${var.name_prefix}-spoke-${var.region_b}"
  report_bucket_force_destroy = true
  hub_report_bucket_name      = module.hub.report_bucket_name
  hub_kms_key_arn             = module.hub.kms_key_arn
}

variable "region" {
  description = "The hub's region and the first spoke's."
  type        = string
}

variable "region_b" {
  description = "The second spoke's region."
  type        = string
}

variable "account_id" {
  description = "The emulators' one account."
  type        = string
}

variable "third_spoke" {
  description = "An expected spoke that is never deployed (<account>/<region>)."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "e2e-org"
}

output "hub" {
  description = "The hub module's outputs."
  value       = module.hub
}

output "payments_channel_url" {
  description = "The payments team's one channel: the queue subscribed to its topic on the hub."
  value       = aws_sqs_queue.payments.id
}

output "spoke_a" {
  description = "The first spoke's outputs."
  value       = module.spoke_a
}

output "spoke_b" {
  description = "The second spoke's outputs."
  value       = module.spoke_b
}
