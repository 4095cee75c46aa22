# The scan ledger: one DynamoDB item per image (registry, repository, digest) holding its latest scan state, its
# findings at tracked severities and what was last notified. The findings function records every scan result and
# decides what is news; the images function reads a repository's records with one paginated Query and records
# the scans it starts. Items expire on their own (TTL `expires_at`) once an image is no longer scanned, so
# records of deleted images do not accumulate.

locals {
  ledger_table_name = "${var.name_prefix}-ledger"
  # Built from the name, so every policy that names the table is known at plan time.
  ledger_table_arn = "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/${local.ledger_table_name}"

  # Which function may do what with the ledger: the findings function reads an image's record and writes it
  # (conditional updates only); the images function queries a repository's records and records the scans it
  # starts, the scan states it learns and its sweep markers (partition config#sweep), and reads the scan budget's
  # plan (config#plan: one BatchGetItem of its chunk and the budget state). The repositories function reads and
  # writes the sweep markers and the plan only (the scan budget: the allowances in chunk items, the budget state).
  #
  # The config# partitions are configuration, not records: config#suppressions (the accepted risks) is written by
  # Terraform alone. Each writer is denied every write to a config# partition but the ones it owns, whatever an
  # Allow says, so no function (nor code running as one) can widen the accepted risks or forge another item.
  ledger_write_actions = ["dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
  ledger_config_partitions = {
    # ForAnyValue: the request is denied when any of its partition keys is a config# one (not the sweep markers).
    images = {
      "ForAnyValue:StringLike"      = { "dynamodb:LeadingKeys" = ["${local.ledger_config_prefix}*"] }
      "ForAnyValue:StringNotEquals" = { "dynamodb:LeadingKeys" = [local.ledger_sweep_markers_pk] }
    }
    findings = {
      "ForAnyValue:StringLike" = { "dynamodb:LeadingKeys" = ["${local.ledger_config_prefix}*"] }
    }
  }
  ledger_config_prefix    = "config#"
  ledger_sweep_markers_pk = "config#sweep"
  ledger_budget_plan_pk   = "config#plan"

  ledger_statements = {
    repositories = [
      {
        Sid       = "PlanScanBudget"
        Effect    = "Allow"
        Action    = ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"]
        Resource  = [local.ledger_table_arn]
        Condition = { "ForAllValues:StringEquals" = { "dynamodb:LeadingKeys" = [local.ledger_sweep_markers_pk, local.ledger_budget_plan_pk] } }
      },
    ]
    images = [
      {
        Sid      = "SweepLedger"
        Effect   = "Allow"
        Action   = ["dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:UpdateItem"]
        Resource = [local.ledger_table_arn]
      },
      {
        Sid       = "NoConfigWritesButSweepMarkers"
        Effect    = "Deny"
        Action    = local.ledger_write_actions
        Resource  = [local.ledger_table_arn]
        Condition = local.ledger_config_partitions.images
      },
    ]
    findings = [
      {
        Sid      = "RecordScanResults"
        Effect   = "Allow"
        Action   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
        Resource = [local.ledger_table_arn]
      },
      {
        Sid       = "NoConfigWrites"
        Effect    = "Deny"
        Action    = local.ledger_write_actions
        Resource  = [local.ledger_table_arn]
        Condition = local.ledger_config_partitions.findings
      },
    ]
    # The exposure report reads every record (a paginated Scan) and the stored suppressions item, and writes nothing.
    report = [
      {
        Sid      = "ReadLedger"
        Effect   = "Allow"
        Action   = ["dynamodb:Scan"]
        Resource = [local.ledger_table_arn]
      },
      {
        Sid       = "ReadSuppressions"
        Effect    = "Allow"
        Action    = ["dynamodb:GetItem"]
        Resource  = [local.ledger_table_arn]
        Condition = { "ForAllValues:StringEquals" = { "dynamodb:LeadingKeys" = [local.suppressions_key.pk] } }
      },
    ]
  }
}

resource "aws_dynamodb_table" "ledger" {
  #checkov:skip=CKV_AWS_119:Encrypted with kms_key_arn when given; otherwise with DynamoDB's default AWS-owned key, at no cost: the records hold scan metadata (digests, tags, CVE ids, counts), no secrets, and a module-made key would cost every deployment a key for no reader it keeps out.
  count = var.create ? 1 : 0

  name                        = local.ledger_table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = "digest"
  deletion_protection_enabled = var.ledger_deletion_protection

  # pk = "<registry_id>#<repository>" (items that are not image records start with "config#"); digest = image digest.
  attribute {
    name = "pk"
    type = "S"
  }
  attribute {
    name = "digest"
    type = "S"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  # The customer-managed key when given; otherwise DynamoDB's default encryption at rest (an AWS-owned key).
  server_side_encryption {
    enabled     = var.kms_key_arn != null
    kms_key_arn = var.kms_key_arn
  }

  tags = local.tags
}
