# The Security Hub export (enable_security_hub_export): the findings function imports the images in breach as ASFF
# findings into this account's Security Hub, through the account's default product subscription, and nothing else;
# archives them when they are gone or the image is deleted from ECR, and sets the archived ones' workflow to
# RESOLVED (lambda/ecr_scan_reporter/securityhub/, docs/securityhub.md).

locals {
  # The product subscription every account has for its own findings (BatchImportFindings' only resource type),
  # built from names so the plan shows it and the boolean alone decides the statement.
  securityhub_product_arn = "arn:${local.partition}:securityhub:${local.region}:${local.account_id}:product/${local.account_id}/default"

  # BatchUpdateFindings' resource (the only resource type the Service Authorization Reference lists for it): this
  # account's hub in this region.
  securityhub_hub_arn = "arn:${local.partition}:securityhub:${local.region}:${local.account_id}:hub/default"

  # The ASFF fields BatchUpdateFindings can change besides the workflow (securityhub:ASFFSyntaxPath/<field>, user
  # guide "Configuring access to BatchUpdateFindings"; the paths AWS's own managed policies use): none may be in the
  # findings function's requests.
  securityhub_untouched_paths = [
    "Confidence",
    "Criticality",
    "Note.Text",
    "Note.UpdatedBy",
    "RelatedFindings",
    "Severity.Label",
    "Severity.Normalized",
    "Severity.Product",
    "Types",
    "UserDefinedFields.key",
    "UserDefinedFields.value",
    "VerificationState",
  ]

  # The findings function's environment: the product to import into, or "" (no export).
  securityhub_environment = var.enable_security_hub_export ? local.securityhub_product_arn : ""

  # What the findings function may do for the export, besides its own policy (iam.tf).
  securityhub_statements = {
    # Filtered rather than a conditional: the statements differ in shape (one has a Condition).
    findings = [for statement in [
      {
        Sid      = "ImportSecurityHubFindings"
        Effect   = "Allow"
        Action   = ["securityhub:BatchImportFindings"]
        Resource = [local.securityhub_product_arn]
      },
      {
        # BatchImportFindings cannot change a finding's workflow once it exists (API reference): an archived finding
        # is resolved with BatchUpdateFindings, in this account only, Workflow.Status RESOLVED and no other field.
        Sid      = "ResolveSecurityHubFindings"
        Effect   = "Allow"
        Action   = ["securityhub:BatchUpdateFindings"]
        Resource = [local.securityhub_hub_arn]
        Condition = {
          StringEquals = { "securityhub:ASFFSyntaxPath/Workflow.Status" = "RESOLVED" }
          Null         = { for path in local.securityhub_untouched_paths : "securityhub:ASFFSyntaxPath/${path}" => "true" }
        }
      },
      {
        # An image deletion event also names a tag removed from an image that remains: only a digest ECR no longer
        # has (ImageNotFoundException) has its findings resolved.
        Sid      = "CheckDeletedImages"
        Effect   = "Allow"
        Action   = ["ecr:DescribeImages"]
        Resource = [local.repository_arns]
      },
    ] : statement if var.enable_security_hub_export]
  }
}

# Images deleted from ECR: the findings function archives what it exported for them (workflow RESOLVED). Its target
# and permission are main.tf's, with the scan-event rules' (local.event_targets).
resource "aws_cloudwatch_event_rule" "ecr_image_deleted" {
  count = var.create && var.enable_security_hub_export ? 1 : 0

  name        = local.names.ecr_image_deleted_rule
  description = "Images deleted from ECR, whose Security Hub findings ecr-scan-reporter resolves (${var.name_prefix})."
  event_pattern = jsonencode({
    source      = ["aws.ecr"]
    detail-type = ["ECR Image Action"]
    detail = {
      action-type = ["DELETE"]
      result      = ["SUCCESS"]
    }
  })
  tags = local.tags
}
