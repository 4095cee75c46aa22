# The notification topic's own key, created only when the default deployment needs one: CloudWatch alarms cannot
# publish to a topic encrypted with the AWS-managed key alias/aws/sns (its key policy, which nobody can edit, does
# not let cloudwatch.amazonaws.com use it), so when the module creates the topic, the alarms notify that topic and
# create_topic_kms_key is true (the default; false when kms_key_arn is given), the topic is encrypted with this
# customer-managed key instead. Otherwise nothing here is created: with kms_key_arn the topic uses that key (whose
# policy must let CloudWatch use it, see the README), and without alarms on the module's topic alias/aws/sns is
# enough.
#
# The key policy names every use: the account administers the key (no data use), the module's publishing functions
# (findings and report) publish through SNS, to this topic and to the teams' topics the module creates (teams.tf),
# and this account's CloudWatch alarms publish their notifications.
# Nothing else can encrypt or decrypt with it.

locals {
  # Booleans only (create_topic_kms_key, not kms_key_arn's null-ness): a key ARN created in the same
  # configuration is unknown at plan time. Giving kms_key_arn while this key would be created is refused
  # (aws_sns_topic.this).
  create_topic_key = local.create_topic && local.alarms_notify_module_topic && var.create_topic_kms_key

  topic_key_alias = "alias/${var.name_prefix}-notifications"

  # The crypto operations SNS performs for a publisher to an encrypted topic.
  topic_key_use = ["kms:Decrypt", "kms:GenerateDataKey*"]

  # The module's functions that publish to the topic, and to the teams' topics this key also encrypts (teams.tf):
  # a function that starts publishing adds its role here.
  topic_publisher_roles = [local.arns.roles["findings"], local.arns.roles["report"]]
}

resource "aws_kms_key" "topic" {
  count = local.create_topic_key ? 1 : 0

  description             = "ecr-scan-reporter (${var.name_prefix}): encrypts the notification topic, readable by the findings function and the module's CloudWatch alarms."
  enable_key_rotation     = true
  deletion_window_in_days = 30

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # Key administration through IAM in this account (AWS's "key administrators" actions): no Encrypt,
        # Decrypt, ReEncrypt or GenerateDataKey here, so IAM policies alone never let anyone read messages.
        Sid       = "AccountAdministersKey"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action = [
          "kms:CancelKeyDeletion",
          "kms:Create*",
          "kms:Delete*",
          "kms:Describe*",
          "kms:Disable*",
          "kms:Enable*",
          "kms:Get*",
          "kms:List*",
          "kms:Put*",
          "kms:Revoke*",
          "kms:RotateKeyOnDemand",
          "kms:ScheduleKeyDeletion",
          "kms:TagResource",
          "kms:UntagResource",
          "kms:Update*",
        ]
        Resource = "*"
      },
      {
        # Publishing to an encrypted topic: SNS generates and decrypts data keys with the publisher's credentials.
        Sid       = "FunctionsPublishThroughSns"
        Effect    = "Allow"
        Principal = { AWS = local.topic_publisher_roles }
        Action    = local.topic_key_use
        Resource  = "*"
        Condition = {
          StringEquals = {
            "kms:ViaService"    = "sns.${local.region}.${data.aws_partition.current.dns_suffix}"
            "kms:CallerAccount" = local.account_id
          }
        }
      },
      {
        # What AWS documents for CloudWatch alarms publishing to an encrypted topic, limited to this account's
        # alarms (confused-deputy protection).
        Sid       = "CloudWatchAlarmsPublish"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = local.topic_key_use
        Resource  = "*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
        }
      },
    ]
  })

  tags = local.tags

  # KMS checks that the principals in the policy exist.
  depends_on = [aws_iam_role.this]
}

resource "aws_kms_alias" "topic" {
  count = local.create_topic_key ? 1 : 0

  name          = local.topic_key_alias
  target_key_id = aws_kms_key.topic[0].key_id
}
