# Teams (issue 19): who owns a repository and where its alerts go. Per team: a topic the module creates (unless the
# team gives sns_topic_arn, or create_team_topics says not: a spoke of an organization hub by default), an optional
# chat topic (created, or chat_topic_arn given), the team's subscriptions, and one item of the scan ledger table
# holding every team's document (like the suppressions, alerts.tf: 50 teams do not fit Lambda's 4 KB environment;
# the findings and report functions carry its SHA-256, TEAMS_SHA256, so a change reaches warm functions at once).
# The functions resolve the owner (tag first, then the first regex in list order, else nobody) and publish; what the
# document holds is docs/teams.md's contract with lambda/ecr_scan_reporter/core/teams.py.

locals {
  # Whether a team without sns_topic_arn gets a topic of its own (create_team_topics): by default yes, except in
  # the spoke of a central topic (an organization hub's), whose teams' alerts then share the module's topic with
  # the message attribute `team`, unless the team is given the hub's team topic (modules/hub: spoke_teams).
  create_team_topics = coalesce(var.create_team_topics, var.create_sns_topic || !var.allow_external_sns_topic)

  # var.teams is `any` (variables.tf refuses unknown keys and bad values): each team normalised here. A key's
  # presence is what the plan can always know (an sns_topic_arn created in the same configuration is unknown):
  # it decides whether the module creates the team's topic (sns_topic_arn) and chat topic (chat_topic_arn).
  teams = [
    for team in var.teams : {
      name             = team.name
      repository_regex = lookup(team, "repository_regex", null) == "" ? null : lookup(team, "repository_regex", null)
      create_topic     = !contains(keys(team), "sns_topic_arn") && local.create_team_topics
      # A team with neither sns_topic_arn nor a topic of its own (create_team_topics) publishes to the module's.
      shares_module_topic = !contains(keys(team), "sns_topic_arn") && !local.create_team_topics
      # Built from the name when the module creates it, so the functions' environment and policies are known at
      # plan time (as for the module's topic).
      topic_arn = (contains(keys(team), "sns_topic_arn") ? team.sns_topic_arn :
        local.create_team_topics ? "arn:${local.partition}:sns:${local.region}:${local.account_id}:${var.name_prefix}-${team.name}" : local.topic_policy_arn
      )
      create_chat_topic = lookup(team, "create_chat_topic", null) == null ? false : tobool(team.create_chat_topic)
      # Given (an organization hub's team chat topic: the module creates none), created, or none.
      given_chat_topic = contains(keys(team), "chat_topic_arn")
      chat_topic_arn = (contains(keys(team), "chat_topic_arn") ? team.chat_topic_arn :
        (lookup(team, "create_chat_topic", null) == null ? false : tobool(team.create_chat_topic)) ? "arn:${local.partition}:sns:${local.region}:${local.account_id}:${var.name_prefix}-${team.name}-chat" : null
      )
      count_only_fixable   = lookup(team, "count_only_fixable", null) == null ? false : tobool(team.count_only_fixable)
      alert_on_exploitable = lookup(team, "alert_on_exploitable", null) == null ? false : tobool(team.alert_on_exploitable)
      email_subscriptions  = lookup(team, "email_subscriptions", null) == null ? [] : distinct(team.email_subscriptions)
      subscriptions = {
        for name, subscription in merge({}, lookup(team, "subscriptions", null)) : name => { for key, value in subscription : key => tostring(value) }
      }
      # Only the settings the team sets (a setting left out, or null, is the module's input of that name), except
      # renotify_after_days, whose null means "never remind": kept as null. Thresholds as the environment spells
      # them: upper case, every severity present.
      settings = merge(
        lookup(team, "severity_thresholds", null) == null ? {} : {
          severity_thresholds = {
            CRITICAL = lookup(team.severity_thresholds, "critical", null)
            HIGH     = lookup(team.severity_thresholds, "high", null)
            MEDIUM   = lookup(team.severity_thresholds, "medium", null)
            LOW      = lookup(team.severity_thresholds, "low", null)
          }
        },
        lookup(team, "notify_on", null) == null ? {} : { notify_on = team.notify_on },
        contains(keys(team), "renotify_after_days") ? { renotify_after_days = team.renotify_after_days } : {},
        lookup(team, "notify_on_resolved", null) == null ? {} : { notify_on_resolved = tobool(team.notify_on_resolved) },
      )
    }
  ]
  # The created resources are keyed by team name (known at plan time, unique: variables.tf).
  team_topics      = { for team in local.teams : team.name => team.topic_arn if var.create && team.create_topic }
  team_chat_topics = { for team in local.teams : team.name => team.chat_topic_arn if var.create && team.create_chat_topic }

  # What the findings and report functions read (docs/teams.md): one JSON document, its hash in their environment.
  teams_document = jsonencode({
    version      = 1
    tag_key      = var.team_tag_key
    module_topic = var.module_topic_notifications
    teams = [
      for team in local.teams : {
        name                 = team.name
        repository_regex     = team.repository_regex
        topic_arn            = team.topic_arn
        chat_topic_arn       = team.chat_topic_arn
        count_only_fixable   = team.count_only_fixable
        alert_on_exploitable = team.alert_on_exploitable
        settings             = team.settings
      }
    ]
  })
  teams_sha256 = length(local.teams) == 0 ? "" : sha256(local.teams_document)
  teams_key    = { pk = "config#teams", digest = "document" }

  # Every topic a team's alerts (and reports) may go to: the findings and report functions publish there (a team
  # sharing the module's topic adds nothing: the functions' own policies have it).
  team_publish_arns = concat(
    [for team in local.teams : team.topic_arn if !team.shares_module_topic],
    [for team in local.teams : team.chat_topic_arn if team.create_chat_topic || team.given_chat_topic],
  )
  # The team topics the module creates, for the customer key's grants (iam.tf: kms_encrypted_arns).
  team_created_topic_arns = concat(
    [for team in local.teams : team.topic_arn if team.create_topic],
    [for team in local.teams : team.chat_topic_arn if team.create_chat_topic],
  )

  # The team_topic_arns output and the subscriptions' topics: known at plan time (what depends on a created topic
  # depends on aws_sns_topic.team as well).
  team_topic_arns = { for team in local.teams : team.name => team.topic_arn if var.create }
  # The team_chat_topic_arns output: the teams with a chat topic, created or given.
  team_chat_topic_arns = { for team in local.teams : team.name => team.chat_topic_arn if var.create && (team.create_chat_topic || team.given_chat_topic) }

  # The teams' given sns_topic_arn and chat_topic_arn, split like main.tf's given_arns, for the preconditions
  # below (keyed "<team>" and "<team> chat_topic_arn", as the messages name them).
  team_given_arns = merge(
    { for team in local.teams : team.name => split(":", team.topic_arn) if !team.create_topic && !team.shares_module_topic },
    { for team in local.teams : "${team.name} chat_topic_arn" => split(":", team.chat_topic_arn) if team.given_chat_topic },
  )
  # The teams that share the module's topic (no topic of their own: create_team_topics) yet ask for subscriptions
  # here: they would subscribe to every team's alerts, on the central topic: refused below.
  teams_subscribing_without_topic = [
    for team in local.teams : team.name if team.shares_module_topic && (length(team.email_subscriptions) > 0 || length(team.subscriptions) > 0)
  ]

  # What the findings and report functions may do for teams, besides their own policies (iam.tf). Nothing without
  # teams; the tag reads only with team_tag_key.
  teams_statement_list = concat(
    length(local.teams) == 0 ? [] : [{
      Sid      = "NotifyTeams"
      Effect   = "Allow"
      Action   = ["sns:Publish"]
      Resource = local.team_publish_arns
    }],
    length(local.teams) == 0 || var.team_tag_key == null ? [] : [{
      # The owning team's tag (team_tag_key), cached per execution environment for team_tag_cache_seconds.
      Sid      = "ReadRepositoryTags"
      Effect   = "Allow"
      Action   = ["ecr:ListTagsForResource"]
      Resource = [local.repository_arns]
    }],
  )
  teams_statements = {
    repositories = []
    images       = []
    findings     = local.teams_statement_list
    # The findings function reads the teams item with the GetItem it has on the whole table (ledger.tf: its deny
    # covers writes to config# partitions only); the report function may read only the config items it names.
    report = concat(local.teams_statement_list, length(local.teams) == 0 ? [] : [{
      Sid       = "ReadTeams"
      Effect    = "Allow"
      Action    = ["dynamodb:GetItem"]
      Resource  = [local.ledger_table_arn]
      Condition = { "ForAllValues:StringEquals" = { "dynamodb:LeadingKeys" = [local.teams_key.pk] } }
    }])
  }
}

# --- the teams' document: one item of the ledger table -------------------------------------------------------------

resource "aws_dynamodb_table_item" "teams" {
  count = var.create && length(local.teams) > 0 ? 1 : 0

  table_name = aws_dynamodb_table.ledger[0].name
  hash_key   = aws_dynamodb_table.ledger[0].hash_key
  range_key  = aws_dynamodb_table.ledger[0].range_key
  item = jsonencode({
    pk       = { S = local.teams_key.pk }
    digest   = { S = local.teams_key.digest }
    document = { S = local.teams_document }
    sha256   = { S = local.teams_sha256 }
    count    = { N = tostring(length(local.teams)) }
  })

  # Checks on the teams that need other inputs (a variable's validation sees only itself in Terraform 1.7).
  lifecycle {
    precondition {
      condition     = var.team_tag_key != null || alltrue([for team in local.teams : team.repository_regex != null])
      error_message = "Team(s) ${join(", ", [for team in local.teams : team.name if team.repository_regex == null])} can never own a repository: give each a repository_regex, or set team_tag_key so that a repository's tag names its team."
    }
    # A condition on an ARN still unknown (created in the same configuration) is checked when applying.
    precondition {
      condition     = length(local.teams_subscribing_without_topic) == 0
      error_message = "Team(s) ${join(", ", local.teams_subscribing_without_topic)} have subscriptions but no topic of their own here: this deployment publishes to a central topic (create_sns_topic = false, allow_external_sns_topic = true), so by default it creates no per-team topics (create_team_topics). Subscribe the team once, on the organization hub (modules/hub's teams), and give the spokes the hub's spoke_teams output; or give the team an sns_topic_arn; or set create_team_topics = true for a topic per team in this account and region."
    }
    precondition {
      condition     = alltrue([for name, parts in local.team_given_arns : try(parts[1] == local.partition, false)])
      error_message = "The sns_topic_arn (or chat_topic_arn) of team(s) ${join(", ", [for name, parts in local.team_given_arns : name if !try(parts[1] == local.partition, false)])} is in another partition than this deployment (${local.deployment}): a topic of another partition can never be published to (not even with allow_external_sns_topic)."
    }
    precondition {
      condition     = var.allow_external_sns_topic || alltrue([for name, parts in local.team_given_arns : try(parts[3] == local.region && parts[4] == local.account_id, false)])
      error_message = "The sns_topic_arn (or chat_topic_arn) of team(s) ${join(", ", [for name, parts in local.team_given_arns : "${name} (${join(":", parts)})" if !try(parts[3] == local.region && parts[4] == local.account_id, false)])} is in another account or region than this deployment (${local.deployment}): give a topic of this region and account, or, for a topic in another account or region on purpose, set allow_external_sns_topic = true (its owner must let the publishing roles, output publisher_role_arns, publish)."
    }
  }
}

# --- the teams' topics ---------------------------------------------------------------------------------------------

# Encrypted like the module's topic (main.tf): the module's topic key when it creates one (whose policy lets the
# findings and report functions, the publishers of every team topic, use it; kms.tf), else kms_key_arn, else
# alias/aws/sns.
resource "aws_sns_topic" "team" {
  for_each = local.team_topics

  name              = "${var.name_prefix}-${each.key}"
  display_name      = "ECR scan reporter (${each.key})"
  kms_master_key_id = local.create_topic_key ? aws_kms_key.topic[0].arn : coalesce(var.kms_key_arn, "alias/aws/sns")
  tags              = local.tags
}

# Replaces SNS's default topic policy, like the module's topic's: publishing needs TLS. The account's IAM
# principals, the findings and report functions among them, keep what their IAM policies give them.
resource "aws_sns_topic_policy" "team" {
  for_each = local.team_topics

  arn = aws_sns_topic.team[each.key].arn
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [merge(local.sns_deny_insecure_transport, { Resource = each.value })]
  })
}

# The team's chat form (Amazon Q Developer in chat applications), encrypted like the module's chat topic (alerts.tf).
resource "aws_sns_topic" "team_chat" {
  for_each = local.team_chat_topics

  name              = "${var.name_prefix}-${each.key}-chat"
  display_name      = "ECR scan reporter (${each.key}, chat)"
  kms_master_key_id = coalesce(var.kms_key_arn, "alias/aws/sns")
  tags              = local.tags
}

resource "aws_sns_topic_policy" "team_chat" {
  for_each = local.team_chat_topics

  arn = aws_sns_topic.team_chat[each.key].arn
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [merge(local.sns_deny_insecure_transport, { Resource = each.value })]
  })
}

# --- the teams' subscriptions, keyed "<team>/<email>" and "<team>/<name>" (known at plan time) ----------------------

resource "aws_sns_topic_subscription" "team_email" {
  for_each = var.create ? merge([
    for team in local.teams : { for email in team.email_subscriptions : "${team.name}/${email}" => { team = team.name, endpoint = email } } if !team.shares_module_topic
  ]...) : {}

  topic_arn = local.team_topic_arns[each.value.team]
  protocol  = "email"
  endpoint  = each.value.endpoint

  depends_on = [aws_sns_topic.team]
}

resource "aws_sns_topic_subscription" "team" {
  for_each = var.create ? merge([
    for team in local.teams : { for name, subscription in team.subscriptions : "${team.name}/${name}" => merge(subscription, { team = team.name }) } if !team.shares_module_topic
  ]...) : {}

  topic_arn             = local.team_topic_arns[each.value.team]
  protocol              = each.value.protocol
  endpoint              = each.value.endpoint
  filter_policy         = lookup(each.value, "filter_policy", null)
  filter_policy_scope   = lookup(each.value, "filter_policy_scope", null)
  raw_message_delivery  = tobool(lookup(each.value, "raw_message_delivery", "false"))
  subscription_role_arn = lookup(each.value, "subscription_role_arn", null)

  depends_on = [aws_sns_topic.team]

  lifecycle {
    precondition {
      # SNS FIFO topics deliver to SQS queues only (standard or FIFO).
      condition     = !endswith(local.team_topic_arns[each.value.team], ".fifo") || each.value.protocol == "sqs"
      error_message = "teams ${each.value.team}: subscriptions.${trimprefix(each.key, "${each.value.team}/")}: the team's topic ${local.team_topic_arns[each.value.team]} is a FIFO topic, which delivers to sqs subscriptions only (not ${each.value.protocol})."
    }
  }
}
