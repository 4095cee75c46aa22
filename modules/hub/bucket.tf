# The central report bucket: hardened as the root module's report bucket (TLS only, public access blocked, ACLs
# disabled, versioned, expiring), writable by the spokes only under their own <account>/<region>/ prefix and only
# SSE-KMS with the hub's key. The organization report is written under organization-report/.

locals {
  org_report_prefix = "organization-report/"
  # Sids take letters and digits only.
  region_sids = { for region in var.spoke_regions : region => join("", [for part in split("-", region) : title(part)]) }
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:Only the spokes' report functions and the hub's write here; server access logs need a second bucket of the user's, and CloudTrail data events are the account's choice.
  #checkov:skip=CKV_AWS_144:Reports are rebuilt every period by the spokes; a replica needs a bucket in another region.
  #checkov:skip=CKV2_AWS_62:Nothing consumes the bucket's events: the organization report runs on a schedule.
  bucket        = var.report_bucket_name
  force_destroy = var.report_bucket_force_destroy
  tags          = local.tags
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# ACLs disabled: the hub's account owns every object a spoke writes; access is decided by policies only.
resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.this.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  # Every report, the spokes' and the organization's: dated copies expire, replaced latest.* versions after 30 days.
  rule {
    id     = "expire-reports"
    status = "Enabled"
    filter {}

    dynamic "expiration" {
      for_each = var.report_retention_days == null ? [] : [var.report_retention_days]
      content {
        days = expiration.value
      }
    }

    noncurrent_version_expiration {
      noncurrent_days = 30
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid       = "DenyInsecureTransport"
          Effect    = "Deny"
          Principal = "*"
          Action    = "s3:*"
          Resource  = [local.arns.bucket, "${local.arns.bucket}/*"]
          Condition = { Bool = { "aws:SecureTransport" = "false" } }
        },
        {
          Sid       = "DenyOutdatedTLS"
          Effect    = "Deny"
          Principal = "*"
          Action    = "s3:*"
          Resource  = [local.arns.bucket, "${local.arns.bucket}/*"]
          Condition = { NumericLessThan = { "s3:TlsVersion" = "1.2" } }
        },
        {
          # Another account's object must be encrypted with the hub's key (which its report role may only
          # encrypt with): never SSE-S3, never a key of the spoke's.
          Sid       = "DenyOtherEncryption"
          Effect    = "Deny"
          Principal = "*"
          Action    = "s3:PutObject"
          Resource  = "${local.arns.bucket}/*"
          Condition = {
            StringNotEquals = {
              "s3:x-amz-server-side-encryption-aws-kms-key-id" = aws_kms_key.this.arn
              "aws:PrincipalAccount"                           = local.account_id
            }
          }
        },
      ],
      [
        # One statement per region: a spoke's report role (the root module names it <prefix>-<region>-report) may
        # write new objects under <its own account>/<its region>/ only. ${aws:PrincipalAccount} in the resource is
        # the caller's account, so no spoke can write another account's prefix.
        for region in var.spoke_regions : {
          Sid       = "SpokesWriteOwnPrefix${local.region_sids[region]}"
          Effect    = "Allow"
          Principal = { AWS = "*" }
          Action    = "s3:PutObject"
          Resource  = "${local.arns.bucket}/$${aws:PrincipalAccount}/${region}/*"
          Condition = {
            StringEquals = local.spoke_principals
            ArnLike      = { "aws:PrincipalArn" = "arn:${local.partition}:iam::*:role/*-${region}-report" }
          }
        }
      ],
    )
  })

  # S3 evaluates a new policy against the public access block: the block is in place first.
  depends_on = [aws_s3_bucket_public_access_block.this, aws_s3_bucket_ownership_controls.this]
}
