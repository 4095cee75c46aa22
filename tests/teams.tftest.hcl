# Teams (teams.tf and its variables), asserted offline: `terraform test` (make tf-test). The teams' topics, chat
# topics and subscriptions, the config#teams item and its hash in the findings and report functions' environment,
# the document the functions read (docs/teams.md), least privilege, the dashboard's Teams row, and every bad value
# refused at plan time.

# The mock's values at plan time too: the module's topic key has its (mocked) ARN.
mock_provider "aws" {
  source          = "./tests/mocks/aws"
  override_during = plan
}

variables {
  payments_topic = "arn:aws:sns:eu-west-1:123456789012:ecr-scan-reporter-payments"
  payments_chat  = "arn:aws:sns:eu-west-1:123456789012:ecr-scan-reporter-payments-chat"
  tools_topic    = "arn:aws:sns:eu-west-1:123456789012:tools-alerts"
  platform_topic = "arn:aws:sns:eu-west-1:123456789012:ecr-scan-reporter-platform"
}

run "no_teams" {
  command = plan

  assert {
    condition = (
      length(aws_sns_topic.team) == 0 && length(aws_sns_topic.team_chat) == 0 && length(aws_sns_topic_policy.team) == 0 &&
      length(aws_sns_topic_subscription.team) == 0 && length(aws_sns_topic_subscription.team_email) == 0 &&
      length(aws_dynamodb_table_item.teams) == 0 && output.team_topic_arns == {}
    )
    error_message = "Without teams there are no team topics, subscriptions or teams item."
  }
  assert {
    condition = alltrue([
      for key in ["findings", "report"] :
      aws_lambda_function.this[key].environment[0].variables.TEAMS_SHA256 == "" && aws_lambda_function.this[key].environment[0].variables.TEAM_TAG_CACHE_SECONDS == "300"
    ])
    error_message = "Without teams the findings and report functions have an empty TEAMS_SHA256 (nothing to read) and the default tag cache time."
  }
  assert {
    condition = alltrue([
      for key in ["repositories", "images", "findings", "report"] :
      !strcontains(aws_iam_role_policy.this[key].policy, "NotifyTeams") && !strcontains(aws_iam_role_policy.this[key].policy, "ecr:ListTagsForResource") && !strcontains(aws_iam_role_policy.this[key].policy, "config#teams")
    ])
    error_message = "Without teams no function may publish to team topics, read repository tags or read the teams item."
  }
  assert {
    condition     = !strcontains(aws_cloudwatch_dashboard.this[0].dashboard_body, "Team}")
    error_message = "Without teams the dashboard has no Teams row."
  }
}

run "three_teams" {
  command = plan

  variables {
    team_tag_key               = "team"
    team_tag_cache_seconds     = 60
    module_topic_notifications = "unowned"
    teams = [
      {
        name                 = "payments"
        repository_regex     = "^payments/"
        severity_thresholds  = { critical = 0, high = 0 }
        notify_on            = "every_scan"
        renotify_after_days  = null # never remind
        notify_on_resolved   = false
        email_subscriptions  = ["payments-oncall@example.com"]
        subscriptions        = { pager = { protocol = "https", endpoint = "https://pager.example.com/hook", raw_message_delivery = true } }
        create_chat_topic    = true
        count_only_fixable   = true
        alert_on_exploitable = true
      },
      {
        name                = "tools"
        repository_regex    = "^tools/"
        severity_thresholds = { critical = 0 }
        sns_topic_arn       = "arn:aws:sns:eu-west-1:123456789012:tools-alerts"
        subscriptions       = { queue = { protocol = "sqs", endpoint = "arn:aws:sqs:eu-west-1:123456789012:tools-alerts" } }
      },
      # Owned by its tag only (team_tag_key), reminded weekly.
      { name = "platform", renotify_after_days = 7 },
    ]
  }

  assert {
    condition     = keys(aws_sns_topic.team) == ["payments", "platform"] && aws_sns_topic.team["payments"].name == "ecr-scan-reporter-payments" && aws_sns_topic.team["platform"].name == "ecr-scan-reporter-platform"
    error_message = "The module creates <name_prefix>-<team> for each team without sns_topic_arn, and only for those."
  }
  assert {
    # The defaults: the alarms notify the module's topic, so the module creates the topic key; the teams' topics
    # are under the same key.
    condition     = alltrue([for topic in aws_sns_topic.team : topic.kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"]) && length(aws_kms_key.topic) == 1
    error_message = "The teams' topics are encrypted with the module's topic key."
  }
  assert {
    condition = jsondecode(aws_sns_topic_policy.team["payments"].policy).Statement == [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "sns:Publish"
      Resource  = var.payments_topic
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }] && keys(aws_sns_topic_policy.team) == ["payments", "platform"]
    error_message = "Each created team topic refuses publishing without TLS, like the module's topic."
  }
  assert {
    condition     = keys(aws_sns_topic.team_chat) == ["payments"] && aws_sns_topic.team_chat["payments"].name == "ecr-scan-reporter-payments-chat" && aws_sns_topic.team_chat["payments"].kms_master_key_id == "alias/aws/sns" && jsondecode(aws_sns_topic_policy.team_chat["payments"].policy).Statement[0].Resource == var.payments_chat
    error_message = "A team with create_chat_topic gets <name_prefix>-<team>-chat, encrypted and TLS-only like the module's chat topic."
  }
  assert {
    condition = (
      keys(aws_sns_topic_subscription.team_email) == ["payments/payments-oncall@example.com"] &&
      aws_sns_topic_subscription.team_email["payments/payments-oncall@example.com"].topic_arn == var.payments_topic &&
      aws_sns_topic_subscription.team_email["payments/payments-oncall@example.com"].protocol == "email"
    )
    error_message = "A team's email subscriptions are keyed <team>/<email>, on the team's topic."
  }
  assert {
    condition = (
      keys(aws_sns_topic_subscription.team) == ["payments/pager", "tools/queue"] &&
      aws_sns_topic_subscription.team["payments/pager"].topic_arn == var.payments_topic &&
      aws_sns_topic_subscription.team["payments/pager"].raw_message_delivery == true &&
      aws_sns_topic_subscription.team["tools/queue"].topic_arn == var.tools_topic &&
      aws_sns_topic_subscription.team["tools/queue"].protocol == "sqs"
    )
    error_message = "A team's subscriptions are keyed <team>/<name>, on the team's topic: the created one or its sns_topic_arn."
  }
  assert {
    condition     = output.team_topic_arns == { payments = var.payments_topic, tools = var.tools_topic, platform = var.platform_topic }
    error_message = "team_topic_arns names the topic each team's alerts go to."
  }
  assert {
    condition     = output.team_chat_topic_arns == { payments = var.payments_chat }
    error_message = "team_chat_topic_arns names the chat topic of each team that has one (for aws_chatbot_slack_channel_configuration)."
  }

  # The item and the document the functions read (docs/teams.md).
  assert {
    condition = (
      length(aws_dynamodb_table_item.teams) == 1 &&
      jsondecode(aws_dynamodb_table_item.teams[0].item).pk.S == "config#teams" &&
      jsondecode(aws_dynamodb_table_item.teams[0].item).digest.S == "document" &&
      jsondecode(aws_dynamodb_table_item.teams[0].item).count.N == "3" &&
      aws_dynamodb_table_item.teams[0].table_name == "ecr-scan-reporter-ledger"
    )
    error_message = "The teams live in one ledger item, config#teams / document, with their count."
  }
  assert {
    condition = jsondecode(jsondecode(aws_dynamodb_table_item.teams[0].item).document.S) == {
      version      = 1
      tag_key      = "team"
      module_topic = "unowned"
      teams = [
        {
          name                 = "payments"
          repository_regex     = "^payments/"
          topic_arn            = "arn:aws:sns:eu-west-1:123456789012:ecr-scan-reporter-payments"
          chat_topic_arn       = "arn:aws:sns:eu-west-1:123456789012:ecr-scan-reporter-payments-chat"
          count_only_fixable   = true
          alert_on_exploitable = true
          settings = {
            severity_thresholds = { CRITICAL = 0, HIGH = 0, MEDIUM = null, LOW = null }
            notify_on           = "every_scan"
            renotify_after_days = null
            notify_on_resolved  = false
          }
        },
        {
          name                 = "tools"
          repository_regex     = "^tools/"
          topic_arn            = "arn:aws:sns:eu-west-1:123456789012:tools-alerts"
          chat_topic_arn       = null
          count_only_fixable   = false
          alert_on_exploitable = false
          settings             = { severity_thresholds = { CRITICAL = 0, HIGH = null, MEDIUM = null, LOW = null } }
        },
        {
          name                 = "platform"
          repository_regex     = null
          topic_arn            = "arn:aws:sns:eu-west-1:123456789012:ecr-scan-reporter-platform"
          chat_topic_arn       = null
          count_only_fixable   = false
          alert_on_exploitable = false
          settings             = { renotify_after_days = 7 }
        },
      ]
    }
    error_message = "The document holds the contract's keys; a team's settings only the keys it set (an explicit null renotify_after_days kept as null)."
  }
  assert {
    condition     = strcontains(jsondecode(aws_dynamodb_table_item.teams[0].item).document.S, "\"renotify_after_days\":null")
    error_message = "payments' renotify_after_days = null (never) is written as null, not left out."
  }
  assert {
    condition = alltrue([
      for key in ["findings", "report"] :
      aws_lambda_function.this[key].environment[0].variables.TEAMS_SHA256 == sha256(jsondecode(aws_dynamodb_table_item.teams[0].item).document.S) &&
      aws_lambda_function.this[key].environment[0].variables.TEAMS_SHA256 == jsondecode(aws_dynamodb_table_item.teams[0].item).sha256.S &&
      aws_lambda_function.this[key].environment[0].variables.TEAM_TAG_CACHE_SECONDS == "60"
    ])
    error_message = "The findings and report functions carry the SHA-256 of the stored document and the tag cache time."
  }
  assert {
    condition     = alltrue([for key in ["repositories", "images"] : !contains(keys(aws_lambda_function.this[key].environment[0].variables), "TEAMS_SHA256")])
    error_message = "Only the findings and report functions read the teams."
  }

  # Least privilege.
  assert {
    condition = alltrue([
      for key in ["findings", "report"] : contains(jsondecode(aws_iam_role_policy.this[key].policy).Statement, {
        Sid      = "NotifyTeams"
        Effect   = "Allow"
        Action   = ["sns:Publish"]
        Resource = [var.payments_topic, var.tools_topic, var.platform_topic, var.payments_chat]
      })
    ])
    error_message = "The findings and report functions may publish to every team topic and team chat topic, and to nothing more with that statement."
  }
  assert {
    condition = alltrue([
      for key in ["findings", "report"] : contains(jsondecode(aws_iam_role_policy.this[key].policy).Statement, {
        Sid      = "ReadRepositoryTags"
        Effect   = "Allow"
        Action   = ["ecr:ListTagsForResource"]
        Resource = ["arn:aws:ecr:eu-west-1:123456789012:repository/*"]
      })
    ])
    error_message = "With team_tag_key the findings and report functions may read the repositories' tags (repositories only)."
  }
  assert {
    condition = contains(jsondecode(aws_iam_role_policy.this["report"].policy).Statement, {
      Sid       = "ReadTeams"
      Effect    = "Allow"
      Action    = ["dynamodb:GetItem"]
      Resource  = ["arn:aws:dynamodb:eu-west-1:123456789012:table/ecr-scan-reporter-ledger"]
      Condition = { "ForAllValues:StringEquals" = { "dynamodb:LeadingKeys" = ["config#teams"] } }
    })
    error_message = "The report function may read the teams item (and only config#teams with that statement)."
  }
  assert {
    # The findings function reads it with its GetItem on the table; its deny of config# partitions covers writes.
    condition = anytrue([
      for s in jsondecode(aws_iam_role_policy.this["findings"].policy).Statement :
      s.Effect == "Allow" && contains(s.Action, "dynamodb:GetItem") && s.Resource == ["arn:aws:dynamodb:eu-west-1:123456789012:table/ecr-scan-reporter-ledger"] && !can(s.Condition)
      ]) && alltrue([
      for s in jsondecode(aws_iam_role_policy.this["findings"].policy).Statement :
      !contains(s.Action, "dynamodb:GetItem") if s.Effect == "Deny"
    ])
    error_message = "The findings function must be able to read config#teams: no deny of GetItem on config# partitions."
  }
  assert {
    condition = alltrue([
      for key in ["repositories", "images"] :
      !strcontains(aws_iam_role_policy.this[key].policy, "NotifyTeams") && !strcontains(aws_iam_role_policy.this[key].policy, "ecr:ListTagsForResource") && !strcontains(aws_iam_role_policy.this[key].policy, "config#teams")
    ])
    error_message = "Only the findings and report functions get the teams' permissions."
  }

  # The dashboard's Teams row: the three metrics the functions emit by Team (and FunctionName, as every metric).
  assert {
    condition = length([
      for widget in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : widget
      if startswith(try(widget.properties.title, ""), "Teams: ") && anytrue([for metric in try(widget.properties.metrics, []) : can(regex("^SEARCH\\('\\{ECRScanReporter,FunctionName,Team\\} MetricName=\"(NotificationsSent|ImagesInBreach|RegistryImagesInBreach)\"", metric[0].expression))])
    ]) == 3
    error_message = "With teams the dashboard draws NotificationsSent, ImagesInBreach and RegistryImagesInBreach by Team."
  }
}

run "teams_by_regex_only" {
  command = plan

  variables {
    teams = [{ name = "payments", repository_regex = "^payments/" }]
  }

  assert {
    condition = alltrue([
      for key in ["findings", "report"] : !strcontains(aws_iam_role_policy.this[key].policy, "ecr:ListTagsForResource") && strcontains(aws_iam_role_policy.this[key].policy, "NotifyTeams")
    ])
    error_message = "Without team_tag_key no function reads repository tags."
  }
  assert {
    condition = jsondecode(jsondecode(aws_dynamodb_table_item.teams[0].item).document.S) == {
      version      = 1
      tag_key      = null
      module_topic = "all"
      teams = [{
        name                 = "payments"
        repository_regex     = "^payments/"
        topic_arn            = "arn:aws:sns:eu-west-1:123456789012:ecr-scan-reporter-payments"
        chat_topic_arn       = null
        count_only_fixable   = false
        alert_on_exploitable = false
        settings             = {}
      }]
    }
    error_message = "A team that sets nothing has empty settings (the module's inputs apply); no tag key; the module's topic gets all."
  }
  assert {
    condition     = length(aws_sns_topic_subscription.team) == 0 && length(aws_sns_topic_subscription.team_email) == 0 && length(aws_sns_topic.team_chat) == 0
    error_message = "No subscription or chat topic a team did not ask for."
  }
}

# The customer key: the teams' topics are under kms_key_arn, and the functions get the key through SNS even when
# the module creates no topic of its own (tests/terraform/test_kms_grants.py derives the same from a real plan).
run "team_topics_under_the_customer_key" {
  command = plan

  variables {
    kms_key_arn          = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    create_topic_kms_key = false
    create_sns_topic     = false
    sns_topic_arn        = "arn:aws:sns:eu-west-1:123456789012:security-alerts"
    teams                = [{ name = "payments", repository_regex = "^payments/", create_chat_topic = true }]
  }

  assert {
    condition     = aws_sns_topic.team["payments"].kms_master_key_id == var.kms_key_arn && aws_sns_topic.team_chat["payments"].kms_master_key_id == var.kms_key_arn
    error_message = "The teams' topics are encrypted with kms_key_arn."
  }
  assert {
    condition = alltrue([
      for key in ["findings", "report"] : anytrue([
        for s in jsondecode(aws_iam_role_policy.this[key].policy).Statement :
        try(s.Sid == "UseModuleKeyThroughSNS" && s.Resource == [var.kms_key_arn] && s.Condition.StringEquals["kms:ViaService"] == "sns.eu-west-1.amazonaws.com", false)
      ])
    ])
    error_message = "The publishers of the teams' topics may use kms_key_arn through SNS."
  }
}

run "create_false_creates_no_team_resource" {
  command = plan

  variables {
    create = false
    teams  = [{ name = "payments", repository_regex = "^payments/", email_subscriptions = ["a@example.com"], create_chat_topic = true }]
  }

  assert {
    condition     = length(aws_sns_topic.team) == 0 && length(aws_sns_topic.team_chat) == 0 && length(aws_sns_topic_subscription.team_email) == 0 && length(aws_dynamodb_table_item.teams) == 0 && output.team_topic_arns == {}
    error_message = "With create = false nothing of the teams is created."
  }
}

# Lambda's 4 KB environment limit (names and values together), with the longest prefix and topic ARN and the
# suppressions' hash as well (alerts.tftest.hcl's worst case): 50 teams with the longest names take one hash.
run "environment_size_with_50_teams" {
  command = plan

  variables {
    name_prefix            = "abcdefghijklmnopqrstuvwxyz012345"
    sns_topic_arn          = "arn:aws:sns:eu-west-1:123456789012:${join("", [for i in range(256) : "t"])}"
    create_sns_topic       = false
    create_chat_topic      = true
    team_tag_key           = "owner"
    team_tag_cache_seconds = 3600
    suppressions           = [{ vulnerability_id = "CVE-2024-1234", expires = "2099-01-01", reason = "not reachable" }]
    teams = [
      for i in range(50) : {
        name                = format("team-%02d-%s", i, join("", [for j in range(32) : "x"]))
        repository_regex    = "^team-${i}/"
        severity_thresholds = { critical = 0, high = i }
        create_chat_topic   = true
      }
    ]
  }

  assert {
    condition = alltrue([
      for key in ["findings", "report"] : sum([for k, v in aws_lambda_function.this[key].environment[0].variables : length(k) + length(v)]) < 4096
    ])
    error_message = "With 50 teams the findings and report functions' environments must stay under Lambda's 4 KB."
  }
  assert {
    condition     = length(aws_lambda_function.this["findings"].environment[0].variables.TEAMS_SHA256) == 64 && length(aws_sns_topic.team) == 50 && length(aws_sns_topic.team_chat) == 50
    error_message = "The 50 teams take one SHA-256 in the environment; each gets its topic and chat topic."
  }
}

# --- a spoke of an organization hub (modules/hub): the teams defined once, on the hub -----------------------------------

# What modules/hub's output spoke_teams gives each spoke: every team with the hub's team topic and chat topic. The
# spoke creates no team topic and no chat topic; its functions publish to the hub's, and the security team's view
# is the hub's central topic (the module's topic, module_topic_notifications = "all").
run "spoke_publishes_to_the_hubs_team_topics" {
  command = plan

  variables {
    create_sns_topic         = false
    sns_topic_arn            = "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-notifications"
    allow_external_sns_topic = true
    create_alarms            = false
    teams = [
      {
        name                = "payments"
        repository_regex    = "^payments/"
        severity_thresholds = { critical = 0, high = 0 }
        sns_topic_arn       = "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-payments"
        chat_topic_arn      = "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-payments-chat"
      },
      { name = "tools", repository_regex = "^tools/", sns_topic_arn = "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-tools" },
    ]
  }

  assert {
    condition = (
      length(aws_sns_topic.team) == 0 && length(aws_sns_topic_policy.team) == 0 && length(aws_sns_topic.team_chat) == 0 &&
      length(aws_sns_topic_subscription.team) == 0 && length(aws_sns_topic_subscription.team_email) == 0
    )
    error_message = "A team given its topic and chat topic (the hub's) gets no topic, chat topic or subscription in the spoke."
  }
  assert {
    condition = [for team in jsondecode(jsondecode(aws_dynamodb_table_item.teams[0].item).document.S).teams : [team.name, team.topic_arn, team.chat_topic_arn]] == [
      ["payments", "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-payments", "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-payments-chat"],
      ["tools", "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-tools", null],
    ]
    error_message = "The document names the hub's team topic and chat topic: the functions publish the alert and its chat form there."
  }
  assert {
    condition = alltrue([
      for key in ["findings", "report"] : contains(jsondecode(aws_iam_role_policy.this[key].policy).Statement, {
        Sid      = "NotifyTeams"
        Effect   = "Allow"
        Action   = ["sns:Publish"]
        Resource = ["arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-payments", "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-tools", "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-payments-chat"]
      })
    ])
    error_message = "The findings and report functions may publish to the hub's team topics and the given chat topic."
  }
  assert {
    condition = (
      output.team_topic_arns == { payments = "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-payments", tools = "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-tools" } &&
      output.team_chat_topic_arns == { payments = "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-payments-chat" } &&
      output.sns_topic_arn == "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-notifications"
    )
    error_message = "The outputs name the hub's topics the spoke publishes to."
  }
}

# The same spoke given teams without the hub's topics (the hub's teams value instead of its spoke_teams): no topic
# per team and account-region (15 teams in 12 spokes would be 180 topics); their alerts share the module's topic,
# the hub's central one, with the attribute team.
run "spoke_creates_no_team_topics_unless_asked" {
  command = plan

  variables {
    create_sns_topic         = false
    sns_topic_arn            = "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-notifications"
    allow_external_sns_topic = true
    create_alarms            = false
    teams                    = [{ name = "payments", repository_regex = "^payments/" }, { name = "tools", repository_regex = "^tools/", create_chat_topic = true }]
  }

  assert {
    condition     = length(aws_sns_topic.team) == 0 && length(aws_sns_topic_policy.team) == 0
    error_message = "A spoke of a central topic creates no team topic unless asked (create_team_topics)."
  }
  assert {
    condition     = keys(aws_sns_topic.team_chat) == ["tools"] && output.team_chat_topic_arns == { tools = "arn:aws:sns:eu-west-1:123456789012:ecr-scan-reporter-tools-chat" }
    error_message = "A chat topic a team asks for (create_chat_topic) is still created."
  }
  assert {
    condition = (
      [for team in jsondecode(jsondecode(aws_dynamodb_table_item.teams[0].item).document.S).teams : team.topic_arn] == ["arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-notifications", "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-notifications"] &&
      output.team_topic_arns == { payments = "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-notifications", tools = "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-notifications" }
    )
    error_message = "A team without a topic publishes to the module's topic (the hub's central topic), where the attribute team tells it."
  }
  assert {
    condition = alltrue([
      for key in ["findings", "report"] : contains(jsondecode(aws_iam_role_policy.this[key].policy).Statement, {
        Sid      = "NotifyTeams"
        Effect   = "Allow"
        Action   = ["sns:Publish"]
        Resource = ["arn:aws:sns:eu-west-1:123456789012:ecr-scan-reporter-tools-chat"]
      })
    ])
    error_message = "The teams' statement names only what the functions' own policies lack: the created chat topic."
  }
}

run "spoke_creates_team_topics_when_asked" {
  command = plan

  variables {
    create_sns_topic         = false
    sns_topic_arn            = "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-notifications"
    allow_external_sns_topic = true
    create_alarms            = false
    create_team_topics       = true
    teams                    = [{ name = "payments", repository_regex = "^payments/", email_subscriptions = ["payments@example.com"] }]
  }

  assert {
    condition     = keys(aws_sns_topic.team) == ["payments"] && output.team_topic_arns == { payments = var.payments_topic } && aws_sns_topic_subscription.team_email["payments/payments@example.com"].topic_arn == var.payments_topic
    error_message = "create_team_topics = true: the spoke creates the team's topic, and its subscriptions go there."
  }
}

run "one_account_creates_no_team_topics_when_told" {
  command = plan

  variables {
    create_team_topics = false
    teams              = [{ name = "payments", repository_regex = "^payments/" }]
  }

  assert {
    condition     = length(aws_sns_topic.team) == 0 && output.team_topic_arns == { payments = "arn:aws:sns:eu-west-1:123456789012:ecr-scan-reporter-notifications" }
    error_message = "create_team_topics = false: the team's alerts go to the module's own topic."
  }
}

run "spoke_team_subscriptions_without_a_topic_refused" {
  command = plan
  variables {
    create_sns_topic         = false
    sns_topic_arn            = "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-notifications"
    allow_external_sns_topic = true
    create_alarms            = false
    teams                    = [{ name = "payments", repository_regex = "^payments/", email_subscriptions = ["payments@example.com"] }]
  }
  expect_failures = [aws_dynamodb_table_item.teams]
}

run "team_chat_topic_of_another_account_refused" {
  command = plan
  variables {
    teams = [{ name = "payments", repository_regex = "^payments/", chat_topic_arn = "arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-payments-chat" }]
  }
  expect_failures = [aws_dynamodb_table_item.teams]
}

run "bad_team_chat_topic_arn_not_an_sns_arn" {
  command = plan
  variables {
    teams = [{ name = "payments", repository_regex = "^payments/", chat_topic_arn = "arn:aws:sqs:eu-west-1:123456789012:payments" }]
  }
  expect_failures = [var.teams]
}

run "bad_team_chat_topic_arn_fifo" {
  command = plan
  variables {
    teams = [{ name = "payments", repository_regex = "^payments/", chat_topic_arn = "arn:aws:sns:eu-west-1:123456789012:payments-chat.fifo" }]
  }
  expect_failures = [var.teams]
}

run "bad_team_chat_topic_arn_with_create_chat_topic" {
  command = plan
  variables {
    teams = [{ name = "payments", repository_regex = "^payments/", create_chat_topic = true, chat_topic_arn = "arn:aws:sns:eu-west-1:123456789012:payments-chat" }]
  }
  expect_failures = [var.teams]
}

# --- a topic of another account or region: the module's rule for sns_topic_arn ---------------------------------------

run "team_topic_of_another_account_refused" {
  command = plan
  variables {
    teams = [{ name = "payments", repository_regex = "^payments/", sns_topic_arn = "arn:aws:sns:eu-west-1:210987654321:central-payments" }]
  }
  expect_failures = [aws_dynamodb_table_item.teams]
}

run "team_topic_of_another_region_refused" {
  command = plan
  variables {
    teams = [{ name = "payments", repository_regex = "^payments/", sns_topic_arn = "arn:aws:sns:us-east-1:123456789012:payments" }]
  }
  expect_failures = [aws_dynamodb_table_item.teams]
}

run "team_topic_of_another_account_with_the_opt_in" {
  command = plan
  variables {
    allow_external_sns_topic = true
    teams                    = [{ name = "payments", repository_regex = "^payments/", sns_topic_arn = "arn:aws:sns:us-east-1:210987654321:central-payments" }]
  }
  assert {
    condition     = output.team_topic_arns == { payments = "arn:aws:sns:us-east-1:210987654321:central-payments" } && length(aws_sns_topic.team) == 0
    error_message = "With allow_external_sns_topic a team may publish to a topic of another account and region."
  }
}

run "team_topic_of_another_partition_refused_even_with_the_opt_in" {
  command = plan
  variables {
    allow_external_sns_topic = true
    teams                    = [{ name = "payments", repository_regex = "^payments/", sns_topic_arn = "arn:aws-cn:sns:cn-north-1:123456789012:payments" }]
  }
  expect_failures = [aws_dynamodb_table_item.teams]
}

run "team_without_regex_and_without_team_tag_key" {
  command = plan
  variables {
    teams = [{ name = "payments" }]
  }
  expect_failures = [aws_dynamodb_table_item.teams]
}

run "team_tag_key_without_teams" {
  command = plan
  variables {
    team_tag_key = "team"
  }
  expect_failures = [aws_lambda_function.this]
}

run "fifo_team_topic_delivers_to_sqs_only" {
  command = plan
  variables {
    teams = [{
      name          = "payments"
      sns_topic_arn = "arn:aws:sns:eu-west-1:123456789012:payments.fifo"
      subscriptions = { hook = { protocol = "https", endpoint = "https://hooks.example.com/payments" } }
    }]
    team_tag_key = "team"
  }
  expect_failures = [aws_sns_topic_subscription.team]
}

# --- bad values: every validation of the teams' variables fails on its own bad value ---------------------------------

run "bad_teams_not_a_list" {
  command = plan
  variables {
    teams = { payments = { name = "payments" } }
  }
  expect_failures = [var.teams]
}

run "bad_teams_list_of_strings" {
  command = plan
  variables {
    teams = ["payments"]
  }
  expect_failures = [var.teams]
}

# A misspelt key would be dropped by an object type: severity_threshold would leave the module's thresholds on.
run "bad_team_unknown_key" {
  command = plan
  variables {
    teams = [{ name = "payments", severity_threshold = { critical = 0 } }]
  }
  expect_failures = [var.teams]
}

run "bad_team_missing_name" {
  command = plan
  variables {
    teams = [{ notify_on = "every_scan" }]
  }
  expect_failures = [var.teams]
}

run "bad_team_name_upper_case" {
  command = plan
  variables {
    teams = [{ name = "Payments" }]
  }
  expect_failures = [var.teams]
}

run "bad_team_name_unsafe_for_a_topic" {
  command = plan
  variables {
    teams = [{ name = "payments.eu" }]
  }
  expect_failures = [var.teams]
}

run "bad_team_name_too_long" {
  command = plan
  variables {
    teams = [{ name = join("", [for i in range(41) : "a"]) }]
  }
  expect_failures = [var.teams]
}

run "bad_team_name_reserved_unowned" {
  command = plan
  variables {
    teams = [{ name = "unowned" }]
  }
  expect_failures = [var.teams]
}

run "bad_team_names_duplicated" {
  command = plan
  variables {
    teams = [{ name = "payments" }, { name = "tools" }, { name = "payments" }]
  }
  expect_failures = [var.teams]
}

# A team's created topics are <name_prefix>-<name> and <name_prefix>-<name>-chat: a name that makes one of them the
# module's own topic (<name_prefix>-notifications, <name_prefix>-chat) or another team's created topic would make two
# resources manage one SNS topic (destroying the team would delete the other's topic). Refused whatever the module's
# create_sns_topic and create_chat_topic say: flipping one later must not collide either.
run "bad_team_name_the_module_topic" {
  command = plan
  variables {
    teams = [{ name = "payments", repository_regex = "^payments/" }, { name = "notifications", repository_regex = "^notifications/" }]
  }
  expect_failures = [var.teams]
}

run "bad_team_name_the_module_chat_topic" {
  command = plan
  variables {
    teams = [{ name = "chat", repository_regex = "^chat/" }]
  }
  expect_failures = [var.teams]
}

run "bad_team_name_another_teams_chat_topic" {
  command = plan
  variables {
    teams = [
      { name = "payments", repository_regex = "^payments/", create_chat_topic = true },
      { name = "payments-chat", repository_regex = "^payments-chat/" },
    ]
  }
  expect_failures = [var.teams]
}

run "bad_team_name_another_teams_chat_topic_listed_first" {
  command = plan
  variables {
    teams = [
      { name = "payments-chat", repository_regex = "^payments-chat/" },
      { name = "payments", repository_regex = "^payments/", create_chat_topic = "true" },
    ]
  }
  expect_failures = [var.teams]
}

run "bad_team_name_whose_chat_topic_is_the_module_topic_name" {
  # <prefix>-notifications-chat is no module topic, but <prefix>-notifications is: the team's own topic collides.
  command = plan
  variables {
    teams = [{ name = "notifications", repository_regex = "^n/", create_chat_topic = true }]
  }
  expect_failures = [var.teams]
}

# The same names are fine when the team creates no topic of that name: its own sns_topic_arn, no chat topic.
run "team_names_that_create_no_colliding_topic" {
  command = plan
  variables {
    create_chat_topic = true
    teams = [
      { name = "notifications", repository_regex = "^notifications/", sns_topic_arn = "arn:aws:sns:eu-west-1:123456789012:n-alerts" },
      { name = "chat", repository_regex = "^chat/", sns_topic_arn = "arn:aws:sns:eu-west-1:123456789012:chat-alerts" },
      { name = "payments", repository_regex = "^payments/", create_chat_topic = false },
      { name = "payments-chat", repository_regex = "^payments-chat/" },
      { name = "tools", repository_regex = "^tools/", create_chat_topic = true, sns_topic_arn = "arn:aws:sns:eu-west-1:123456789012:tools-alerts" },
      { name = "tools-chat", repository_regex = "^tools-chat/", sns_topic_arn = "arn:aws:sns:eu-west-1:123456789012:tools-chat-alerts" },
    ]
  }
  assert {
    condition = (
      toset([for topic in aws_sns_topic.team : topic.name]) == toset(["ecr-scan-reporter-payments", "ecr-scan-reporter-payments-chat"]) &&
      toset([for topic in aws_sns_topic.team_chat : topic.name]) == toset(["ecr-scan-reporter-tools-chat"]) &&
      aws_sns_topic.this[0].name == "ecr-scan-reporter-notifications" && aws_sns_topic.chat[0].name == "ecr-scan-reporter-chat"
    )
    error_message = "Team names that create no topic of another's name are accepted; every created topic has a name of its own."
  }
}

run "bad_team_regex_invalid" {
  command = plan
  variables {
    teams = [{ name = "payments" }, { name = "tools", repository_regex = "^tools/(" }]
  }
  expect_failures = [var.teams]
}

run "bad_team_regex_look_ahead" {
  command = plan
  variables {
    teams = [{ name = "payments", repository_regex = "^payments/(?!sandbox)" }]
  }
  expect_failures = [var.teams]
}

run "bad_team_regex_re2_only" {
  command = plan
  variables {
    teams = [{ name = "payments", repository_regex = "^payments/\\pL+$" }]
  }
  expect_failures = [var.teams]
}

run "bad_team_threshold_key" {
  command = plan
  variables {
    teams = [{ name = "payments", severity_thresholds = { CRITICAL = 0 } }]
  }
  expect_failures = [var.teams]
}

run "bad_team_threshold_negative" {
  command = plan
  variables {
    teams = [{ name = "payments", severity_thresholds = { critical = -1 } }]
  }
  expect_failures = [var.teams]
}

run "bad_team_threshold_fraction" {
  command = plan
  variables {
    teams = [{ name = "payments", severity_thresholds = { high = 1.5 } }]
  }
  expect_failures = [var.teams]
}

run "bad_team_thresholds_not_a_map" {
  command = plan
  variables {
    teams = [{ name = "payments", severity_thresholds = 0 }]
  }
  expect_failures = [var.teams]
}

run "bad_team_notify_on" {
  command = plan
  variables {
    teams = [{ name = "payments", notify_on = "always" }]
  }
  expect_failures = [var.teams]
}

run "bad_team_renotify_zero" {
  command = plan
  variables {
    teams = [{ name = "payments", renotify_after_days = 0 }]
  }
  expect_failures = [var.teams]
}

run "bad_team_renotify_over_a_year" {
  command = plan
  variables {
    teams = [{ name = "payments", renotify_after_days = 366 }]
  }
  expect_failures = [var.teams]
}

run "bad_team_flag_not_a_bool" {
  command = plan
  variables {
    teams = [{ name = "payments", count_only_fixable = "yes" }]
  }
  expect_failures = [var.teams]
}

run "bad_team_topic_arn" {
  command = plan
  variables {
    teams = [{ name = "payments", sns_topic_arn = "payments-alerts" }]
  }
  expect_failures = [var.teams]
}

# A key present decides "given" (known at plan time, whatever the ARN): null would mean neither.
run "bad_team_topic_arn_null" {
  command = plan
  variables {
    teams = [{ name = "payments", sns_topic_arn = null }]
  }
  expect_failures = [var.teams]
}

run "bad_team_email" {
  command = plan
  variables {
    teams = [{ name = "payments", email_subscriptions = ["payments-oncall"] }]
  }
  expect_failures = [var.teams]
}

run "bad_team_subscription_key" {
  command = plan
  variables {
    teams = [{ name = "payments", subscriptions = { hook = { protocol = "https", endpoint = "https://hooks.example.com/p", filter_polcy = "{}" } } }]
  }
  expect_failures = [var.teams]
}

run "bad_team_subscription_endpoint" {
  command = plan
  variables {
    teams = [{ name = "payments", subscriptions = { hook = { protocol = "https", endpoint = "http://hooks.example.com/p" } } }]
  }
  expect_failures = [var.teams]
}

run "bad_team_subscription_protocol" {
  command = plan
  variables {
    teams = [{ name = "payments", subscriptions = { hook = { protocol = "webhook", endpoint = "https://hooks.example.com/p" } } }]
  }
  expect_failures = [var.teams]
}

run "bad_team_subscription_filter_policy" {
  command = plan
  variables {
    teams = [{ name = "payments", subscriptions = { hook = { protocol = "https", endpoint = "https://hooks.example.com/p", filter_policy = "[1]" } } }]
  }
  expect_failures = [var.teams]
}

run "bad_team_subscription_raw_delivery_for_email" {
  command = plan
  variables {
    teams = [{ name = "payments", subscriptions = { mail = { protocol = "email", endpoint = "p@example.com", raw_message_delivery = "true" } } }]
  }
  expect_failures = [var.teams]
}

run "bad_team_tag_key_reserved" {
  command = plan
  variables {
    teams        = [{ name = "payments" }]
    team_tag_key = "aws:team"
  }
  expect_failures = [var.team_tag_key]
}

run "bad_team_tag_key_too_long" {
  command = plan
  variables {
    teams        = [{ name = "payments" }]
    team_tag_key = join("", [for i in range(129) : "k"])
  }
  expect_failures = [var.team_tag_key]
}

run "bad_team_tag_cache_seconds" {
  command = plan
  variables {
    team_tag_cache_seconds = 3601
  }
  expect_failures = [var.team_tag_cache_seconds]
}

run "bad_team_tag_cache_seconds_fraction" {
  command = plan
  variables {
    team_tag_cache_seconds = 1.5
  }
  expect_failures = [var.team_tag_cache_seconds]
}

run "bad_module_topic_notifications" {
  command = plan
  variables {
    module_topic_notifications = "none"
  }
  expect_failures = [var.module_topic_notifications]
}

# --- good values of every kind --------------------------------------------------------------------------------------

run "every_team_key_accepted" {
  command = plan
  variables {
    team_tag_key = "Owner Team:id"
    teams = [{
      name                 = "a1_b-c"
      repository_regex     = "(?i)^team-a/[\\w.-]+$"
      severity_thresholds  = { critical = 0, high = 3, medium = null, low = null }
      notify_on            = "new_findings"
      renotify_after_days  = 365
      notify_on_resolved   = true
      sns_topic_arn        = "arn:aws:sns:eu-west-1:123456789012:a1-alerts.fifo"
      email_subscriptions  = []
      subscriptions        = { queue = { protocol = "sqs", endpoint = "arn:aws:sqs:eu-west-1:123456789012:a1.fifo", raw_message_delivery = "true", filter_policy = jsonencode({ team = ["a1_b-c"] }) } }
      create_chat_topic    = false
      count_only_fixable   = false
      alert_on_exploitable = true
    }]
  }
  assert {
    condition     = length(aws_sns_topic.team) == 0 && keys(aws_sns_topic_subscription.team) == ["a1_b-c/queue"] && aws_sns_topic_subscription.team["a1_b-c/queue"].filter_policy == jsonencode({ team = ["a1_b-c"] })
    error_message = "Every key of a team, at its edges, is accepted."
  }
}
