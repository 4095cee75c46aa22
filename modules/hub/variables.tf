variable "name_prefix" {
  description = "Prefix of every resource name of the hub (topic, key alias, function, role, rule, log group, alarms, dashboard). The role and the dashboard also carry the region. 1-32 characters: letters, digits, hyphens, underscores; starts with a letter."
  type        = string
  default     = "ecr-scan-hub"
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_-]{0,31}$", var.name_prefix))
    error_message = "name_prefix must be 1-32 characters long, start with a letter and contain only letters, digits, hyphens (-) and underscores (_)."
  }
}

variable "organization_id" {
  description = "The AWS Organizations id (`o-...`) whose accounts are the spokes: they may publish to the topic and write their reports (`aws:PrincipalOrgID`). Exactly one of `organization_id` and `spoke_account_ids`."
  type        = string
  default     = null

  validation {
    condition     = var.organization_id == null || can(regex("^o-[a-z0-9]{10,32}$", coalesce(var.organization_id, "-")))
    error_message = "organization_id must be an AWS Organizations id: o- and 10-32 lower-case letters or digits (aws organizations describe-organization), or null."
  }
}

variable "spoke_account_ids" {
  description = "Without an organization: the accounts (12 digits each) whose spokes may publish and write their reports (`aws:PrincipalAccount`). Exactly one of `organization_id` and `spoke_account_ids` (non-empty)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for id in var.spoke_account_ids : can(regex("^[0-9]{12}$", id))]) && length(distinct(var.spoke_account_ids)) == length(var.spoke_account_ids)
    error_message = "spoke_account_ids must be distinct 12-digit AWS account ids."
  }
}

variable "additional_publisher_arns" {
  description = "Other principals that may publish to the central topic (and so use the hub's key through SNS), beside the spokes' publishing roles (`<prefix>-<region>-findings` and `-report` of each `spoke_regions` entry, the names the root module gives them): IAM role or user ARNs, `*` and `?` allowed in the name (`aws:PrincipalArn` is matched with ArnLike), such as `arn:aws:iam::111111111111:role/security-tooling/*`. Each must still be of the organization (or of `spoke_account_ids`), and none may write reports. Not an account (`:root`) or an account wildcard: that would let any principal of it publish forged alerts."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for arn in var.additional_publisher_arns : can(regex("^arn:aws[a-zA-Z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_*?/-]{1,512}$", arn)) && !can(regex(":(role|user)/[*?/]*$", arn))]) && length(distinct(var.additional_publisher_arns)) == length(var.additional_publisher_arns)
    error_message = "Each additional_publisher_arns entry must be an IAM role or user ARN of one account, arn:<partition>:iam::<12-digit account>:role/<path and name> (or :user/...), * and ? allowed in the path and name but not the whole of it, each once. Refused: ${join(", ", [for arn in var.additional_publisher_arns : arn if !(can(regex("^arn:aws[a-zA-Z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_*?/-]{1,512}$", arn)) && !can(regex(":(role|user)/[*?/]*$", arn)))])}."
  }
}

variable "spoke_regions" {
  description = "The regions the spokes run in. A spoke writes only under `<its account>/<its region>/`: the bucket policy allows each region's prefix to the spokes' report roles of that region only (the module's role names carry the region: `<prefix>-<region>-report`)."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.spoke_regions) >= 1 && alltrue([for region in var.spoke_regions : can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", region))]) && length(distinct(var.spoke_regions)) == length(var.spoke_regions)
    error_message = "spoke_regions must list at least one region, each once, spelled as AWS does (eu-west-1, us-gov-west-1)."
  }
}

variable "expected_spokes" {
  description = "The spokes the organization report expects, as `<account>/<region>` (`123456789012/eu-west-1`): one that has not reported for more than two report periods (`spoke_report_period_hours`), or never, is listed as silent, and a silent spoke makes the report an alert (`event_type` `organization_silent_spokes`). Spokes that report without being listed are counted all the same."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for spoke in var.expected_spokes : can(regex("^[0-9]{12}/[a-z]{2}(-[a-z]+)+-[0-9]$", spoke))]) && length(distinct(var.expected_spokes)) == length(var.expected_spokes)
    error_message = "Each expected_spokes entry must be <12-digit account>/<region>, such as 123456789012/eu-west-1, each once."
  }
}

variable "spoke_report_period_hours" {
  description = "How often the spokes report, in hours (their `report_schedule_expression`; the module's default is weekly: 168). A spoke whose latest report is older than twice this is silent."
  type        = number
  default     = 168
  nullable    = false

  validation {
    condition     = var.spoke_report_period_hours >= 1 && var.spoke_report_period_hours <= 8760 && floor(var.spoke_report_period_hours) == var.spoke_report_period_hours
    error_message = "spoke_report_period_hours must be a whole number of hours from 1 to 8760."
  }
}

variable "report_schedule_expression" {
  description = "When the organization report is built (an EventBridge schedule: `rate(...)` or `cron(...)`). Default: Mondays 08:00 UTC, two hours after the spokes' default weekly report."
  type        = string
  default     = "cron(0 8 ? * MON *)"
  nullable    = false

  validation {
    condition     = can(regex("^(rate\\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\\)|cron\\([^()]+\\))$", var.report_schedule_expression))
    error_message = "report_schedule_expression must be an EventBridge schedule: rate(<n> <minute(s)|hour(s)|day(s)>) or cron(<six fields>)."
  }
}

variable "report_bucket_name" {
  description = "The name of the central report bucket the hub creates (spokes write under `<account>/<region>/`, the organization report under `organization-report/`). Bucket names are global: include the account."
  type        = string
  nullable    = false

  validation {
    condition = (
      can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.report_bucket_name)) &&
      !can(regex("\\.\\.|^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$|^(xn--|sthree-|amzn-s3-demo-)|(-s3alias|--ol-s3|\\.mrap|--x-s3|--table-s3)$", var.report_bucket_name))
    )
    error_message = "report_bucket_name must follow S3's bucket naming rules: 3-63 characters of lower-case letters, digits, dots and hyphens, beginning and ending with a letter or digit, no two adjacent dots, not an IP address, no reserved prefix or suffix."
  }
}

variable "report_retention_days" {
  description = "Days the bucket keeps each dated report (the spokes' and the organization's; whole number, 1-3650); replaced versions of `latest.*` go after 30 days. `null`: keep forever."
  type        = number
  default     = 365

  validation {
    condition     = var.report_retention_days == null || try(var.report_retention_days >= 1 && var.report_retention_days <= 3650 && floor(var.report_retention_days) == var.report_retention_days, false)
    error_message = "report_retention_days must be a whole number of days from 1 to 3650, or null to keep reports forever."
  }
}

variable "report_bucket_force_destroy" {
  description = "Let `terraform destroy` delete the bucket with every report in it. Default `false`: destroy fails while it holds reports."
  type        = bool
  default     = false
  nullable    = false
}

variable "email_subscriptions" {
  description = "Email addresses subscribed to the central topic (each must confirm the subscription from the email AWS sends)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for email in var.email_subscriptions : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", email))])
    error_message = "Each email_subscriptions entry must be an email address such as security@example.com."
  }
}

variable "subscriptions" {
  description = "More subscriptions to the central topic, by a name of your choice, as the root module's `subscriptions`: a map of strings with `protocol` (`http`, `https`, `email`, `email-json`, `sms`, `sqs`, `application`, `lambda` or `firehose`), `endpoint`, and optionally `filter_policy` (JSON), `filter_policy_scope`, `raw_message_delivery`, `subscription_role_arn` (firehose). Any other key is refused. Messages carry the attributes `event_type`, `highest_severity` (and `repository` for a spoke's image alert): filter the organization report with `event_type` `organization_report` / `organization_silent_spokes`."
  # A map of maps, not objects: an object type would silently drop a misspelt key.
  type     = map(map(string))
  default  = {}
  nullable = false

  validation {
    condition = alltrue(flatten([
      for name, subscription in var.subscriptions : [
        for key in keys(subscription) : contains(["protocol", "endpoint", "filter_policy", "filter_policy_scope", "raw_message_delivery", "subscription_role_arn"], key)
      ]
    ]))
    error_message = "Each subscriptions entry accepts only the keys protocol, endpoint, filter_policy, filter_policy_scope, raw_message_delivery and subscription_role_arn; refused: ${join(", ", flatten([for name, subscription in var.subscriptions : [for key in keys(subscription) : "${name}.${key}" if !contains(["protocol", "endpoint", "filter_policy", "filter_policy_scope", "raw_message_delivery", "subscription_role_arn"], key)]]))}."
  }

  validation {
    condition     = alltrue([for subscription in values(var.subscriptions) : contains(["http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose"], lookup(subscription, "protocol", "-")) && trimspace(lookup(subscription, "endpoint", "")) != ""])
    error_message = "Each subscriptions entry needs a protocol (http, https, email, email-json, sms, sqs, application, lambda or firehose, lower case) and a non-empty endpoint."
  }

  validation {
    condition = alltrue([
      for subscription in values(var.subscriptions) : !contains(keys(subscription), "filter_policy") || try(
        length(keys(jsondecode(subscription.filter_policy))) >= 1 && length(keys(jsondecode(subscription.filter_policy))) <= 5,
        false
      )
    ])
    error_message = "Each subscriptions filter_policy must be a JSON object of 1 to 5 top-level keys (SNS's limit)."
  }

  validation {
    condition = alltrue([
      for subscription in values(var.subscriptions) : (!contains(keys(subscription), "filter_policy_scope") || (
        contains(["MessageAttributes", "MessageBody"], lookup(subscription, "filter_policy_scope", "-")) && contains(keys(subscription), "filter_policy"))) && (
        !contains(keys(subscription), "raw_message_delivery") || (contains(["true", "false"], lookup(subscription, "raw_message_delivery", "-")) && contains(["sqs", "http", "https", "firehose"], lookup(subscription, "protocol", "-")))) && (
      lookup(subscription, "protocol", "-") == "firehose" ? can(regex("^arn:aws[a-zA-Z-]*:iam::[0-9]{12}:role/[^\\s]+$", lookup(subscription, "subscription_role_arn", ""))) : !contains(keys(subscription), "subscription_role_arn"))
    ])
    error_message = "filter_policy_scope must be MessageAttributes or MessageBody and comes with a filter_policy; raw_message_delivery is true or false, for sqs, http, https and firehose only; subscription_role_arn (an IAM role ARN) is required with firehose and refused otherwise."
  }
}

variable "create_chat_topic" {
  description = "Also create a chat topic: the organization report's short summary is published there in the Amazon Q Developer in chat applications custom-notification format (connect it to a Slack or Teams channel, as the root module's chat topic). Output `chat_topic_arn`."
  type        = bool
  default     = false
  nullable    = false
}

variable "teams" {
  description = "The organization's teams, defined once: each gets ONE topic here, `<name_prefix>-<name>` (under the hub's key; the spokes may publish to it, as to the central topic), with its `email_subscriptions` and `subscriptions` (as the root module's: e-mail, SQS, HTTPS, Lambda...), and with `create_chat_topic` a `<name_prefix>-<name>-chat` topic for its chat channel (Amazon Q Developer in chat applications: one chat configuration per team, on output `team_chat_topic_arns`). A team is the root module's team object (docs/teams.md: `name`, `repository_regex`, `severity_thresholds`, `notify_on`, `renotify_after_days`, `notify_on_resolved`, `count_only_fixable`, `alert_on_exploitable`, `email_subscriptions`, `subscriptions`, `create_chat_topic`), checked here with the root module's own rules; `sns_topic_arn` and `chat_topic_arn` are refused (the hub creates the topics). Output `spoke_teams` is the same list with each team's `sns_topic_arn` and `chat_topic_arn` set to the hub's (and without the subscriptions): every spoke's `teams`. The organization report also sends each team its own organization-wide report on its topic."
  # `any`, as the root module's teams (see there): the shape and the keys are checked below and by module.team_rules.
  type     = any
  default  = []
  nullable = false

  validation {
    condition     = can([for team in var.teams : keys(team)]) && !can(keys(var.teams)) && !can(tostring(var.teams))
    error_message = "teams must be a list of team objects, such as [{ name = \"payments\", repository_regex = \"^payments/\", email_subscriptions = [\"payments-oncall@example.com\"] }]."
  }

  validation {
    condition     = alltrue([for team in var.teams : !can(keys(team)) || !anytrue([for key in ["sns_topic_arn", "chat_topic_arn"] : contains(keys(team), key)])])
    error_message = "A team of the hub takes no sns_topic_arn or chat_topic_arn: the hub creates each team's topic <name_prefix>-<name> (and, with create_chat_topic, <name_prefix>-<name>-chat), and output spoke_teams hands them to the spokes. Refused: ${try(join(", ", [for i, team in var.teams : "teams[${i}] (${try(tostring(team.name), "no name")})" if can(keys(team)) && anytrue([for key in ["sns_topic_arn", "chat_topic_arn"] : contains(keys(team), key)])]), "-")}."
  }
}

variable "create_alarms" {
  description = "Create the hub's own CloudWatch alarms (the organization report function failing or not running, spokes silent, the organization report not stored, a destination that refused it), notifying the central topic."
  type        = bool
  default     = true
  nullable    = false
}

variable "create_dashboard" {
  description = "Create the hub's CloudWatch dashboard `<name_prefix>-<region>`: spokes reporting and silent, the organization's images in breach, the function's errors."
  type        = bool
  default     = true
  nullable    = false
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the organization report function's metrics (1-255 of letters, digits and . - _ / # :; not starting with AWS/)."
  type        = string
  default     = "ECRScanReporter"
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9.\\-_/#:]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be 1-255 characters of letters, digits and . - _ / # : and must not start with AWS/."
  }
}

variable "lambda_runtime" {
  description = "Python runtime of the organization report function: `python3.12` or `python3.13`."
  type        = string
  default     = "python3.13"
  nullable    = false

  validation {
    condition     = contains(["python3.12", "python3.13"], var.lambda_runtime)
    error_message = "lambda_runtime must be python3.12 or python3.13."
  }
}

variable "lambda_architecture" {
  description = "Instruction set of the organization report function: `arm64` (cheaper) or `x86_64`."
  type        = string
  default     = "arm64"
  nullable    = false

  validation {
    condition     = contains(["arm64", "x86_64"], var.lambda_architecture)
    error_message = "lambda_architecture must be arm64 or x86_64."
  }
}

variable "tracing_mode" {
  description = "X-Ray tracing of the organization report function: `PassThrough` (Lambda's default) or `Active`."
  type        = string
  default     = "PassThrough"
  nullable    = false

  validation {
    condition     = contains(["PassThrough", "Active"], var.tracing_mode)
    error_message = "tracing_mode must be PassThrough or Active."
  }
}

variable "log_level" {
  description = "Log level of the organization report function: DEBUG, INFO, WARNING or ERROR."
  type        = string
  default     = "INFO"
  nullable    = false

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "log_retention_days" {
  description = "Days the function's log group keeps its events (one of CloudWatch's allowed values)."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch Logs' allowed values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "tags" {
  description = "Tags added to every resource that supports them (the module adds `terraform-module = ecr-scan-reporter-hub`). At most 49; keys 1-128 characters, not `aws:...`; values at most 256 characters."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition     = length(var.tags) <= 49 && alltrue([for key, value in var.tags : length(key) >= 1 && length(key) <= 128 && !startswith(lower(key), "aws:") && value != null && length(coalesce(value, " ")) <= 256])
    error_message = "tags: at most 49; each key 1-128 characters, not starting with aws: (reserved by AWS); each value a string of at most 256 characters."
  }
}
