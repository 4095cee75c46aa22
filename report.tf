# The exposure report: its schedule (the function is in lambda.tf, its policy in iam.tf) and, with
# create_report_bucket, the S3 bucket that keeps each report as JSON and HTML.

locals {
  # Nothing with create = false (var.create).
  report_scheduled = var.create && var.report_schedule_expression != null
  report_bucket    = var.create && var.create_report_bucket
  # Known at plan time, for the function's policy.
  report_bucket_arn = "arn:${local.partition}:s3:::${coalesce(var.report_bucket_name, "-")}"
  # Where the function writes: <prefix><YYYY>/<MM>/<DD>/<time>.json|.html and <prefix>latest.json|.html.
  report_prefix = "exposure-report/"
}

resource "aws_cloudwatch_event_rule" "report" {
  count = local.report_scheduled ? 1 : 0

  name                = local.names.report_rule
  description         = "Builds the ecr-scan-reporter exposure report from the scan ledger (${var.name_prefix})."
  schedule_expression = var.report_schedule_expression
  tags                = local.tags
}

# --- the report bucket ------------------------------------------------------------------------------------------

resource "aws_s3_bucket" "report" {
  #checkov:skip=CKV_AWS_18:Only the report function writes here (s3:PutObject under exposure-report/); server access logs need a second bucket of the user's, and CloudTrail data events are the account's choice.
  #checkov:skip=CKV_AWS_144:Reports are rebuilt from the ledger every week; a replica needs a bucket in another region the module does not own.
  #checkov:skip=CKV2_AWS_62:Nothing consumes the bucket's events: each report is already published to the notification topic.
  count = local.report_bucket ? 1 : 0

  bucket        = var.report_bucket_name
  force_destroy = var.report_bucket_force_destroy
  tags          = local.tags
}

resource "aws_s3_bucket_public_access_block" "report" {
  count = local.report_bucket ? 1 : 0

  bucket                  = aws_s3_bucket.report[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# ACLs disabled: the bucket owner owns every object, access is decided by policies only.
resource "aws_s3_bucket_ownership_controls" "report" {
  count = local.report_bucket ? 1 : 0

  bucket = aws_s3_bucket.report[0].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "report" {
  count = local.report_bucket ? 1 : 0

  bucket = aws_s3_bucket.report[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    # One data key per bucket instead of one KMS request per object.
    bucket_key_enabled = var.kms_key_arn != null
  }
}

resource "aws_s3_bucket_versioning" "report" {
  count = local.report_bucket ? 1 : 0

  bucket = aws_s3_bucket.report[0].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "report" {
  count = local.report_bucket ? 1 : 0

  bucket = aws_s3_bucket.report[0].id

  rule {
    id     = "expire-reports"
    status = "Enabled"
    filter {
      prefix = local.report_prefix
    }

    dynamic "expiration" {
      for_each = var.report_retention_days == null ? [] : [var.report_retention_days]
      content {
        days = expiration.value
      }
    }

    # latest.json/latest.html are replaced weekly: their older versions go after 30 days.
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
  }

  # The whole bucket: parts of an upload that never completed are removed after a week.
  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"
    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  # The rule applies to versions: versioning first.
  depends_on = [aws_s3_bucket_versioning.report]
}

resource "aws_s3_bucket_policy" "report" {
  count = local.report_bucket ? 1 : 0

  bucket = aws_s3_bucket.report[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.report[0].arn, "${aws_s3_bucket.report[0].arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        Sid       = "DenyOutdatedTLS"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.report[0].arn, "${aws_s3_bucket.report[0].arn}/*"]
        Condition = { NumericLessThan = { "s3:TlsVersion" = "1.2" } }
      },
    ]
  })

  # S3 evaluates a new policy against the public access block: the block is in place first.
  depends_on = [aws_s3_bucket_public_access_block.report, aws_s3_bucket_ownership_controls.report]
}
