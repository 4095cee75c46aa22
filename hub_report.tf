# A spoke of an organization hub (modules/hub; docs/organization.md). hub_kms_key_arn names the hub's key, which
# encrypts the hub's topics and its report bucket: the roles that publish to a topic of the hub's, or write to its
# bucket, get the key through SNS, or S3, of the key's region (iam.tf derives which roles, as for kms_key_arn: a key
# in another account needs a grant in the caller's identity policy as well as its key policy). With
# hub_report_bucket_name, the report function also writes each exposure report to the hub's bucket, under
# <account>/<region>/, SSE-KMS with the hub's key. The function's environment and the input checks are in lambda.tf;
# the alarm on refused writes in alarms.tf.

locals {
  # A bucket name, not an ARN: known at plan time even when the hub is created in the same configuration.
  hub_report = var.create && var.hub_report_bucket_name != null
  # The only prefix the hub's bucket policy lets this account's report role write (by its name, which carries the
  # region), and the one the organization report reads.
  hub_report_prefix = coalesce(var.hub_report_prefix, "${local.account_id}/${local.region}/")
  hub_bucket_arn    = "arn:${local.partition}:s3:::${coalesce(var.hub_report_bucket_name, "-")}"

  # hub_kms_key_arn split: arn:<partition>:kms:<region>:<account>:key/<id>.
  hub_key = var.hub_kms_key_arn == null ? null : split(":", var.hub_kms_key_arn)

  # The topics this deployment publishes to without creating them: the notification topic (sns_topic_arn), the chat
  # topic (chat_topic_arn) and the teams' own (sns_topic_arn, chat_topic_arn: modules/hub's spoke_teams). One of them
  # in the hub key's account and region is a topic of the hub's (its central topic, its chat topic, a team's topic or
  # chat topic it holds), encrypted with the hub's key: no input says otherwise, and SNS needs the key in the topic's
  # own region. The topics the module creates are never the hub's, even in a spoke that runs in the hub's account
  # and region (a team sharing the module's topic, create_team_topics, adds nothing).
  given_topic_arns = distinct(concat(
    var.create_sns_topic || var.sns_topic_arn == null ? [] : [var.sns_topic_arn],
    var.create_chat_topic || var.chat_topic_arn == null ? [] : [var.chat_topic_arn],
    [for team in local.teams : team.topic_arn if !team.create_topic && !team.shares_module_topic],
    [for team in local.teams : team.chat_topic_arn if team.given_chat_topic],
  ))
  hub_topic_arns = local.hub_key == null ? [] : [
    for arn in local.given_topic_arns : arn if try(split(":", arn)[3] == local.hub_key[3] && split(":", arn)[4] == local.hub_key[4], false)
  ]

  # What hub_kms_key_arn encrypts that a function reaches with its own credentials, by service (iam.tf derives the
  # roles and their grants from it, as kms_encrypted_arns for kms_key_arn).
  hub_kms_encrypted_arns = local.hub_key == null ? {} : {
    sns = local.hub_topic_arns
    s3  = local.hub_report ? [local.hub_bucket_arn] : []
  }

  # The report role's write to the hub's bucket (the hub-report policy below; iam.tf reads it for the key grant).
  hub_report_statements = {
    report = local.hub_report ? [{
      # New objects under this spoke's prefix only: no read, list or delete of the hub's bucket.
      Sid      = "WriteHubReports"
      Effect   = "Allow"
      Action   = ["s3:PutObject"]
      Resource = ["${local.hub_bucket_arn}/${local.hub_report_prefix}*"]
    }] : []
  }
}

# Its own policy on the report role, beside the least-privilege one: the hub is another account's. The hub's key is
# granted in the least-privilege policy (iam.tf: UseHubKeyThroughS3, UseHubKeyThroughSNS), with every role that
# publishes to a topic of the hub's.
resource "aws_iam_role_policy" "hub_report" {
  count = local.hub_report ? 1 : 0

  name = "hub-report"
  role = aws_iam_role.this["report"].id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = local.hub_report_statements.report
  })
}
