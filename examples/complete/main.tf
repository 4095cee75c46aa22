# Every input of the module, with a realistic value (tests/terraform/test_examples.py keeps it so, and names the
# few inputs left out: the alternatives to what this example creates). A customer-managed KMS key for the queues,
# topics, logs and report bucket, an email subscription and a team's filtered one, repository filters, custom
# thresholds and sweep limits, accepted risks, alarms, the dashboard, the weekly exposure report, and the chat topic
# connected to a Slack channel once you give the channel (variables slack_team_id and slack_channel_id).
#
#   terraform init && terraform apply -var 'notification_email=security@example.com'

terraform {
  required_version = ">= 1.7.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.73.0, < 7.0.0"
    }
  }
}

provider "aws" {
  region = var.region
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  name       = "ecr-scan-reporter-demo"
  tags = {
    project     = "ecr-scan-reporter"
    environment = "example"
  }
}

# One key for everything the module stores: queues, topics, the scan ledger, the report bucket (when
# report_bucket_name is given), logs and the functions' environment. The account's IAM policies decide who else may
# use it: each function's own policy grants it the key only through the services of what it uses (SQS, SNS,
# DynamoDB, S3, Lambda), and whoever applies Terraform needs kms:CreateGrant and kms:DescribeKey for the ledger
# table (DynamoDB keeps a grant on the key). Besides, the key policy lets the services that encrypt as themselves
# use it: CloudWatch Logs for the log groups, EventBridge for the events it dead-letters to the failed-events
# queue, CloudWatch alarms for the notifications they publish to the topic.
resource "aws_kms_key" "reporter" {
  description             = "ecr-scan-reporter: queues, topics, ledger, report bucket, logs and environment"
  enable_key_rotation     = true
  deletion_window_in_days = 7

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # The default key policy: delegate to IAM in this account (the functions' policies grant them the key
        # through SQS, SNS, DynamoDB, S3 and Lambda only: kms:ViaService).
        Sid       = "AccountAdministersKeyThroughIam"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogsEncryptsTheLogGroups"
        Effect    = "Allow"
        Principal = { Service = "logs.${var.region}.${data.aws_partition.current.dns_suffix}" }
        Action    = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"]
        Resource  = "*"
        Condition = {
          ArnLike = {
            "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/lambda/${local.name}-*"
          }
        }
      },
      {
        # The module's alarms notify the topic this key encrypts: CloudWatch must be able to use the key.
        Sid       = "CloudWatchAlarmsNotifyTheEncryptedTopic"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
        }
      },
      {
        Sid       = "EventBridgeDeadLettersToTheEncryptedQueue"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = "*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
        }
      },
    ]
  })

  tags = local.tags
}

resource "aws_kms_alias" "reporter" {
  name          = "alias/${local.name}"
  target_key_id = aws_kms_key.reporter.key_id
}

module "ecr_scan_reporter" {
  source = "../.."

  create              = true # false: the module creates nothing (and keeps these settings), e.g. to switch a region off
  name_prefix         = local.name
  schedule_expression = "cron(0 5 * * ? *)" # 05:00 UTC every day

  # Sweep and report on the teams' repositories, never the sandboxes.
  repository_include_regex = "^(team-a|team-b)/"
  repository_exclude_regex = "(^|/)sandbox-"

  # Rescan weekly, at most 50 images per repository and sweep; 80,000 scans a day registry-wide (the rest of ECR's
  # 100,000 left for scans on push), images pulled in the last 90 days first.
  scan_expiry_days          = 7
  daily_scan_budget         = 80000
  in_use_days               = 90
  max_images_per_repository = 50
  # Deprecated (in_use_days ranks instead of leaving images out): null, every image is rescanned in its turn.
  only_images_pulled_within_days = null

  # Any critical finding notifies; more than 5 high findings notify; medium and low are ignored.
  severity_thresholds = {
    critical = 0
    high     = 5
  }
  notify_on_scan_failure  = true
  enable_inspector_events = true

  # An image in breach is notified once, then when something new breaches; a reminder after 14 days without
  # news; one "resolved" message when it is back within the thresholds.
  notify_on           = "new_findings"
  notify_on_resolved  = true
  renotify_after_days = 14

  # Each notification lists its 10 most severe findings; accepted risks stop counting until they expire.
  findings_in_notification = 10
  suppressions = [
    {
      vulnerability_id = "CVE-2023-4911"
      repository_regex = "^team-a/"
      expires          = "2027-12-31" # review date: on and after it the finding counts again
      reason           = "glibc's dynamic loader is not reachable in team-a's distroless images (SEC-1234)"
    },
  ]
  # A second topic in the Amazon Q Developer in chat applications format, connected to Slack below.
  create_chat_topic = true

  max_scan_concurrency   = 5
  images_batch_size      = 5
  images_timeout_seconds = 300
  max_receive_count      = 5

  # Everything to the security team; team-a's on-call only hears about team-a's repositories (an SNS filter
  # policy on the message attributes: repository, highest_severity, event_type), and not about resolved images.
  # The module creates the notification topic (true, the default; false publishes to sns_topic_arn instead), in
  # this account and region (a central topic elsewhere would need allow_external_sns_topic = true).
  create_sns_topic         = true
  allow_external_sns_topic = false
  email_subscriptions      = [var.notification_email]
  subscriptions = {
    team_a_oncall = {
      protocol = "email"
      endpoint = var.team_a_email
      filter_policy = jsonencode({
        repository = [{ prefix = "team-a/" }]
        event_type = ["threshold_breached", "reminder", "scan_failed"]
      })
    }
  }
  # Each team gets its repositories' alerts on its own topic (<name_prefix>-<team>, encrypted with the key below),
  # with its own thresholds: a repository tagged team = <name> is that team's, else the first regex that matches.
  # The module's topic still gets everything ("unowned": only what no team owns). docs/teams.md.
  team_tag_key               = "team"
  team_tag_cache_seconds     = 300 # a changed tag takes effect within five minutes
  module_topic_notifications = "all"
  # null: a topic per team here; a spoke of an organization hub creates none unless true (docs/organization.md).
  create_team_topics = null
  teams = [
    {
      name                 = "team-a"
      repository_regex     = "^team-a/"
      severity_thresholds  = { critical = 0, high = 0 } # every high finding
      notify_on            = "new_findings"
      renotify_after_days  = 7
      notify_on_resolved   = true
      email_subscriptions  = [var.team_a_email]
      create_chat_topic    = false
      count_only_fixable   = true # only findings with a fix count (enhanced scanning; basic scanning: all count)
      alert_on_exploitable = true # an exploitable MEDIUM+ finding alerts even within the thresholds
    },
    {
      name                = "team-b"
      repository_regex    = "^team-b/"
      severity_thresholds = { critical = 0 } # critical only
      renotify_after_days = null             # never remind
      subscriptions = {
        pager = { protocol = "https", endpoint = "https://events.example.com/team-b/ecr", filter_policy = jsonencode({ event_type = ["threshold_breached"] }) }
      }
    },
  ]

  kms_key_arn = aws_kms_key.reporter.arn
  # The key above encrypts the topic too: the module creates no key of its own for it. A boolean, because the
  # key's ARN is unknown until the key exists.
  create_topic_kms_key = false

  lambda_runtime      = "python3.13"
  lambda_architecture = "arm64"
  # The report reads the whole scan ledger (CPU-bound: about 68 s per 100,000 images at 512 MB, faster with more
  # memory, one full vCPU at 1769 MB); the other functions keep the module's sizes.
  lambda_memory_size = { report = 1024 }
  log_retention_days = 90
  log_level          = "INFO"

  # Your organization's IAM permissions boundary for the four roles, if it requires one (null: none).
  permissions_boundary_arn = var.permissions_boundary_arn

  # Alarms for lost work notify the notification topic (this example's key lets CloudWatch use it), or the
  # operations team's topic when you give one.
  create_alarms = true
  # The alarms notify the notification topic unless an operations topic is given (a variable, so known at plan).
  alarms_notify_sns_topic = var.ops_alarm_topic_arn == null
  alarm_topic_arn         = var.ops_alarm_topic_arn

  # Every invocation traced in X-Ray (X-Ray charges apply); the sweep's concurrency reserved, and at least
  # max_scan_concurrency (reserving needs unreserved concurrency to spare: not in accounts at the default limit of 10).
  tracing_mode                   = "Active"
  reserved_concurrent_executions = { images = 5 }

  # The ledger is the pipeline's memory of what was notified. true in production (destroy then fails until it is
  # turned off); false here, so the example can be destroyed.
  ledger_deletion_protection = false

  # Metrics, the dashboard and the weekly exposure report (Mondays 06:00 UTC), kept a year in its own bucket.
  metrics_namespace           = "ECRScanReporter"
  create_dashboard            = true
  report_schedule_expression  = "cron(0 6 ? * MON *)"
  create_report_bucket        = true
  report_bucket_name          = "${local.name}-reports-${local.account_id}-${var.region}"
  report_retention_days       = 365
  report_bucket_force_destroy = true # false in production: destroy then fails while the bucket holds reports

  # A spoke of an organization hub (modules/hub, docs/organization.md) publishes to the hub's topics with its key and
  # writes its reports to its bucket; not here.
  hub_report_bucket_name = null
  hub_kms_key_arn        = null
  hub_report_prefix      = null

  # Images in breach also as Security Hub findings (Security Hub must be enabled in the account and region).
  enable_security_hub_export = true

  tags = local.tags
}

# --- the chat topic in a Slack channel (Amazon Q Developer in chat applications, formerly AWS Chatbot) -------------
# Authorize the Slack workspace once in the Amazon Q Developer in chat applications console, then give its
# workspace (team) ID and the channel's ID: -var 'slack_team_id=T0123ABCD' -var 'slack_channel_id=C0123ABCD'.
# Without them (the default) nothing is created, so the example plans without a Slack workspace.

locals {
  slack = var.slack_team_id != null
}

# The channel only receives notifications: its role has no permissions, and the guardrail denies everything a
# channel member could try to run through it (the default guardrail would be AdministratorAccess).
resource "aws_iam_role" "chatbot" {
  count = local.slack ? 1 : 0

  name = "${local.name}-${var.region}-chatbot"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "chatbot.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = local.tags
}

resource "aws_chatbot_slack_channel_configuration" "security" {
  count = local.slack ? 1 : 0

  configuration_name    = "${local.name}-${var.region}"
  iam_role_arn          = aws_iam_role.chatbot[0].arn
  slack_team_id         = var.slack_team_id
  slack_channel_id      = var.slack_channel_id
  sns_topic_arns        = [module.ecr_scan_reporter.chat_topic_arn]
  guardrail_policy_arns = ["arn:${local.partition}:iam::aws:policy/AWSDenyAll"]
  logging_level         = "ERROR"
  tags                  = local.tags

  lifecycle {
    precondition {
      condition     = var.slack_channel_id != null
      error_message = "slack_team_id is set but slack_channel_id is not: give the channel's ID too (in Slack: the channel's details, or the last part of its link, e.g. C0123ABCD)."
    }
  }
}
