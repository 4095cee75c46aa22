# A spoke of an organization hub (modules/hub; docs/organization.md): with hub_report_bucket_name, the report function also
# writes each exposure report to the hub's bucket, under <account>/<region>/, SSE-KMS with the hub's key. The
# function's environment and the input checks are in lambda.tf; the alarm on refused writes in alarms.tf.

locals {
  # A bucket name, not an ARN: known at plan time even when the hub is created in the same configuration.
  hub_report = var.create && var.hub_report_bucket_name != null
  # The only prefix the hub's bucket policy lets this account's report role write (by its name, which carries the
  # region), and the one the organization report reads.
  hub_report_prefix = coalesce(var.hub_report_prefix, "${local.account_id}/${local.region}/")
}

# Its own policy on the report role, beside the least-privilege one: the hub is another account's, and its bucket
# and key are named by the hub's outputs (unknown at plan time when the hub is created in the same configuration).
resource "aws_iam_role_policy" "hub_report" {
  count = local.hub_report ? 1 : 0

  name = "hub-report"
  role = aws_iam_role.this["report"].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # New objects under this spoke's prefix only: no read, list or delete of the hub's bucket.
        Sid      = "WriteHubReports"
        Effect   = "Allow"
        Action   = ["s3:PutObject"]
        Resource = ["arn:${local.partition}:s3:::${coalesce(var.hub_report_bucket_name, "-")}/${local.hub_report_prefix}*"]
      },
      {
        # S3 asks the hub's key for a data key with the caller's credentials; only through S3.
        Sid      = "UseHubKeyThroughS3"
        Effect   = "Allow"
        Action   = ["kms:GenerateDataKey"]
        Resource = [coalesce(var.hub_report_kms_key_arn, "-")]
        Condition = {
          StringEquals = { "kms:ViaService" = "s3.${try(split(":", var.hub_report_kms_key_arn)[3], local.region)}.${data.aws_partition.current.dns_suffix}" }
        }
      },
    ]
  })
}
