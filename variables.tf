# Every input of the module. Each is typed, described and validated at plan time; the descriptions are rendered
# into the README's inputs table (python tests/terraform/readme_tables.py --write).

variable "create" {
  description = "Create the module's resources. `false`: the module creates nothing and every output is null or empty (it still reads the caller's account, region and partition), for example to switch one region's deployment off while keeping the module block and its settings."
  type        = bool
  default     = true
  nullable    = false
}

variable "name_prefix" {
  description = "Prefix of every resource name (functions, queues, topic, rules, log groups, IAM roles). IAM role names also carry the region, so the same prefix can be applied to several regions of one account. 1-32 characters: letters, digits, hyphens, underscores; starts with a letter."
  type        = string
  default     = "ecr-scan-reporter"
  nullable    = false

  validation {
    # 32 keeps the longest IAM role name, "<prefix>-<region>-repositories", within IAM's 64 characters.
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_-]{0,31}$", var.name_prefix))
    error_message = "name_prefix must be 1-32 characters long, start with a letter and contain only letters, digits, hyphens (-) and underscores (_)."
  }
}

variable "schedule_expression" {
  description = "When the sweep of every repository runs: an EventBridge schedule expression such as `rate(1 day)`, `rate(12 hours)` or `cron(0 6 * * ? *)` (UTC). Cron fields: minutes, hours, day-of-month, month, day-of-week, year; exactly one of day-of-month and day-of-week is `?`."
  type        = string
  default     = "rate(1 day)"
  nullable    = false

  validation {
    condition = (
      can(regex("^rate\\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\\)$", var.schedule_expression)) ||
      can(regex("^cron\\([^ ()]+( [^ ()]+){5}\\)$", var.schedule_expression))
    )
    error_message = "schedule_expression must be rate(<value> <unit>) with a whole value of at least 1 and a unit of minute(s), hour(s) or day(s) (singular for 1, as in \"rate(1 day)\" or \"rate(12 hours)\"), or cron(<6 fields>) as in \"cron(0 6 * * ? *)\"."
  }

  validation {
    # Each cron field as EventBridge documents it: values, ranges (a-b) or * , each with an optional step (/n),
    # comma-separated; ?, L, W and # where AWS allows them. Names (JAN, MON) in any case.
    condition = !startswith(var.schedule_expression, "cron(") || try(alltrue([
      for index, field in split(" ", upper(trimsuffix(trimprefix(var.schedule_expression, "cron("), ")"))) :
      can(regex([
        "^$",                                                      # minutes: no special value
        "^$",                                                      # hours: no special value
        "^(\\?|L|LW|(0?[1-9]|[12][0-9]|3[01])W)$",                 # day-of-month
        "^$",                                                      # month: no special value
        "^(\\?|L|([1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)(L|#[1-5]))$", # day-of-week
        "^$",                                                      # year: no special value
        ][index], field)) || alltrue([
        for item in split(",", field) : can(regex(format("^(\\*|(%[1]s)(-(%[1]s))?)(/[1-9][0-9]*)?$", [
          "[0-5]?[0-9]",                                                    # minutes 0-59
          "[01]?[0-9]|2[0-3]",                                              # hours 0-23
          "0?[1-9]|[12][0-9]|3[01]",                                        # day-of-month 1-31
          "0?[1-9]|1[0-2]|JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC", # month 1-12, JAN-DEC
          "[1-7]|SUN|MON|TUE|WED|THU|FRI|SAT",                              # day-of-week 1-7, SUN-SAT
          "19[7-9][0-9]|2[01][0-9][0-9]",                                   # year 1970-2199
        ][index]), item))
      ])
    ]), false)
    error_message = "schedule_expression: each cron field must be a value, a range (a-b) or *, each optionally with a step (/n), comma-separated, within minutes 0-59, hours 0-23, day-of-month 1-31 (also ?, L, LW, <day>W), month 1-12 or JAN-DEC, day-of-week 1-7 or SUN-SAT (also ?, L, <day>L, <day>#<1-5>), year 1970-2199; for example \"cron(0/30 8-18 ? * MON-FRI *)\"."
  }

  validation {
    condition     = !startswith(var.schedule_expression, "cron(") || try((split(" ", var.schedule_expression)[2] == "?") != (split(" ", var.schedule_expression)[4] == "?"), true)
    error_message = "schedule_expression: a cron expression needs ? in exactly one of day-of-month (3rd field) and day-of-week (5th field), as AWS requires: \"cron(0 6 * * ? *)\" (every day) or \"cron(0 6 ? * MON *)\" (Mondays)."
  }
}

variable "repository_include_regex" {
  description = "Only repositories whose name matches this regular expression are swept and reported on (search semantics, like Terraform's `regex()`: anchor with `^` and `$` for a whole-name match). Write it in the common subset of RE2 (which Terraform checks) and Python `re` (which the functions use): no look-around, no backreferences, no POSIX classes like `[[:alpha:]]`, no `\\p{..}`, `\\Q..\\E`, `\\z` or `\\x{..}`, flags only as a leading `(?i)` or scoped `(?i:...)`; and no repeated group that holds a quantifier, an alternation or another group (`([a-z0-9]+-?)+`, `(a|aa)+`: Python's backtracking `re` can take exponential time on them; write `[a-z0-9-]+`)."
  type        = string
  default     = ".*"
  nullable    = false

  validation {
    condition     = can(regexall(var.repository_include_regex, ""))
    error_message = "repository_include_regex is not a valid regular expression (Terraform checks it with RE2: look-around and backreferences are not supported)."
  }

  validation {
    # RE2 syntax Python's re rejects or reads differently (escaped backslashes removed first): \x{..}, \p/\P,
    # \Q..\E, \z, \C, \1-\9 (octal in RE2, a group reference in Python), POSIX classes, (?<name>..), the U
    # flag, {,n} (a literal in RE2, 0 to n in Python), \d/\s/\w as a range end; and flag groups after the start
    # or turning a flag off without a colon (Python accepts only leading global flags like "(?i)").
    condition     = !can(regex("\\\\(x\\{|[pPQEzC1-9])|\\[:\\^?[A-Za-z]+:\\]|\\(\\?<[A-Za-z_]|\\(\\?[A-Za-z-]*U|\\{,|\\[[^\\]]*\\\\[dDsSwW]-[^\\]]", replace(var.repository_include_regex, "\\\\", ""))) && !can(regex("\\(\\?[A-Za-z-]+\\)", replace(replace(var.repository_include_regex, "\\\\", ""), "/^(\\(\\?[A-Za-z]+\\))+/", "")))
    error_message = "repository_include_regex uses RE2 syntax that Python's re (which the functions use) rejects or reads differently. Write it in the common subset: \\xHH not \\x{..}; ranges such as [a-z0-9] not \\p{..}/\\pN or [[:alpha:]]; escape each character instead of \\Q...\\E; $ not \\z; (?P<name>...) not (?<name>...); \\xHH not \\1-\\9; {0,n} not {,n}; flags only as a leading (?i), (?m), (?s) or scoped (?i:...), never U or (?-i); no \\d, \\s or \\w as a range end in [...]."
  }

  validation {
    # No nested quantifier (Python's re backtracks: a repeated group that holds a quantifier, an alternation or
    # another group can take exponential time): core/regex_subset.py's rule, character for character. Escapes, sets,
    # group openings and flag groups are flattened first; then a repeated group holding ")", a quantifier or "|".
    condition     = !can(regex("\\)[^()]*\\)[*+{]|\\([^()]*[*+?{|][^()]*\\)[*+{]", replace(replace(replace(replace(var.repository_include_regex, "/\\\\./", "e"), "/\\[\\^?\\]?[^\\]]*\\]/", "c"), "/\\(\\?(P<[A-Za-z0-9_]*>|[A-Za-z-]*:)/", "("), "/\\(\\?[A-Za-z-]*\\)/", "")))
    error_message = "repository_include_regex repeats a group that holds a quantifier, an alternation or another group, such as ([a-z0-9]+-?)+ or (a|aa)+: Python's re (which the functions use) can take exponential time on such a regex and hang them. Repeat a set instead ([a-z0-9-]+), or write the group once without repeating it."
  }
}

variable "repository_exclude_regex" {
  description = "Repositories whose name matches this regular expression are skipped even when they match `repository_include_regex` (same syntax and search semantics). `null` or `\"\"` excludes nothing."
  type        = string
  default     = null

  validation {
    condition     = var.repository_exclude_regex == null || can(regexall(coalesce(var.repository_exclude_regex, ".*"), ""))
    error_message = "repository_exclude_regex is not a valid regular expression (Terraform checks it with RE2: look-around and backreferences are not supported)."
  }

  validation {
    # RE2 syntax Python's re rejects or reads differently (escaped backslashes removed first): \x{..}, \p/\P,
    # \Q..\E, \z, \C, \1-\9 (octal in RE2, a group reference in Python), POSIX classes, (?<name>..), the U
    # flag, {,n} (a literal in RE2, 0 to n in Python), \d/\s/\w as a range end; and flag groups after the start
    # or turning a flag off without a colon (Python accepts only leading global flags like "(?i)").
    condition     = !can(regex("\\\\(x\\{|[pPQEzC1-9])|\\[:\\^?[A-Za-z]+:\\]|\\(\\?<[A-Za-z_]|\\(\\?[A-Za-z-]*U|\\{,|\\[[^\\]]*\\\\[dDsSwW]-[^\\]]", replace(coalesce(var.repository_exclude_regex, ".*"), "\\\\", ""))) && !can(regex("\\(\\?[A-Za-z-]+\\)", replace(replace(coalesce(var.repository_exclude_regex, ".*"), "\\\\", ""), "/^(\\(\\?[A-Za-z]+\\))+/", "")))
    error_message = "repository_exclude_regex uses RE2 syntax that Python's re (which the functions use) rejects or reads differently. Write it in the common subset: \\xHH not \\x{..}; ranges such as [a-z0-9] not \\p{..}/\\pN or [[:alpha:]]; escape each character instead of \\Q...\\E; $ not \\z; (?P<name>...) not (?<name>...); \\xHH not \\1-\\9; {0,n} not {,n}; flags only as a leading (?i), (?m), (?s) or scoped (?i:...), never U or (?-i); no \\d, \\s or \\w as a range end in [...]."
  }

  validation {
    # The nested-quantifier rule repository_include_regex applies (see there).
    condition     = !can(regex("\\)[^()]*\\)[*+{]|\\([^()]*[*+?{|][^()]*\\)[*+{]", replace(replace(replace(replace(coalesce(var.repository_exclude_regex, ".*"), "/\\\\./", "e"), "/\\[\\^?\\]?[^\\]]*\\]/", "c"), "/\\(\\?(P<[A-Za-z0-9_]*>|[A-Za-z-]*:)/", "("), "/\\(\\?[A-Za-z-]*\\)/", "")))
    error_message = "repository_exclude_regex repeats a group that holds a quantifier, an alternation or another group, such as ([a-z0-9]+-?)+ or (a|aa)+: Python's re (which the functions use) can take exponential time on such a regex and hang them. Repeat a set instead ([a-z0-9-]+), or write the group once without repeating it."
  }
}

variable "scan_expiry_days" {
  description = "An image whose last scan is older than this many days is scanned again (1-365)."
  type        = number
  default     = 7
  nullable    = false

  validation {
    condition     = var.scan_expiry_days >= 1 && var.scan_expiry_days <= 365 && floor(var.scan_expiry_days) == var.scan_expiry_days
    error_message = "scan_expiry_days must be a whole number of days from 1 to 365."
  }
}

variable "severity_thresholds" {
  description = "Findings tolerated per severity before a notification is sent, keyed `critical`, `high`, `medium`, `low` (lower case): an image breaches when its count of a severity is greater than the threshold (`0`: any finding notifies). `null`, or a key left out, ignores that severity; any other key is refused. Default: critical 0, high 0, medium and low ignored. With every severity ignored, `notify_on_scan_failure` must be true (otherwise nothing could ever be notified)."
  # A map, not an object: Terraform silently drops attributes an object type does not declare, so a typo
  # ("crtical") or the environment variable's spelling ("CRITICAL") would reach the function as "ignored".
  type = map(number)
  default = {
    critical = 0
    high     = 0
  }
  nullable = false

  validation {
    condition     = alltrue([for severity in keys(var.severity_thresholds) : contains(["critical", "high", "medium", "low"], severity)])
    error_message = "severity_thresholds accepts only the keys critical, high, medium and low (lower case); refused: ${join(", ", [for severity in keys(var.severity_thresholds) : severity if !contains(["critical", "high", "medium", "low"], severity)])}."
  }

  validation {
    condition = alltrue([
      for severity, threshold in var.severity_thresholds :
      threshold == null ? true : threshold >= 0 && floor(threshold) == threshold
    ])
    error_message = "Each severity_thresholds value (critical, high, medium, low) must be a non-negative whole number, or null to ignore that severity."
  }
}

variable "notify_on_scan_failure" {
  description = "Also notify when ECR reports a scan as `FAILED` (for example an unsupported image), not only when thresholds are breached."
  type        = bool
  default     = true
  nullable    = false
}

variable "enable_inspector_events" {
  description = "Also report on `Inspector2 Scan` events, which is how registries using Amazon Inspector enhanced scanning announce results (basic scanning sends `ECR Image Scan` events, always handled)."
  type        = bool
  default     = true
  nullable    = false
}

variable "only_images_pulled_within_days" {
  description = "Deprecated: set `in_use_days` instead (images not in use are then rescanned after the in-use ones, within the daily budget, rather than never). Only rescan images pushed or pulled within this many days (whole number >= 1); images nobody pulls are left alone; also the default of `in_use_days`. `null`: rescan every image regardless of pulls."
  type        = number
  default     = null

  validation {
    condition     = var.only_images_pulled_within_days == null || try(var.only_images_pulled_within_days >= 1 && floor(var.only_images_pulled_within_days) == var.only_images_pulled_within_days, false)
    error_message = "only_images_pulled_within_days must be a whole number of days of at least 1, or null for no filter."
  }
}

variable "daily_scan_budget" {
  description = "Basic scans a UTC day the sweep may start, registry-wide, whatever the schedule (the day's sweeps share it; a change applies from the next UTC day), spent by priority: never-scanned in-use images, then expired in-use ones (registry-wide before any other class), never-scanned, expired, then early rescans that level the load (see docs/budget.md). ECR allows 100,000 a day per registry, scans on push included: the default leaves 10,000 for them. Needs the scan ledger. `null`: no budget (every due image, in repository order, until ECR refuses)."
  type        = number
  default     = 90000

  validation {
    condition     = var.daily_scan_budget == null || try(var.daily_scan_budget >= 1 && var.daily_scan_budget <= 100000 && floor(var.daily_scan_budget) == var.daily_scan_budget, false)
    error_message = "daily_scan_budget must be a whole number from 1 to 100000 (ECR's basic scans per registry per 24 hours), or null for no budget."
  }
}

variable "in_use_days" {
  description = "An image pulled (DescribeImages `lastRecordedPullTime`) within this many days is in use: the daily scan budget scans in-use images first. Whole number of days from 1 to 3650. `null`: `only_images_pulled_within_days` when set, else 30."
  type        = number
  default     = null

  validation {
    condition     = var.in_use_days == null || try(var.in_use_days >= 1 && var.in_use_days <= 3650 && floor(var.in_use_days) == var.in_use_days, false)
    error_message = "in_use_days must be a whole number of days from 1 to 3650, or null (only_images_pulled_within_days when set, else 30)."
  }
}

variable "max_images_per_repository" {
  description = "Rescan at most this many images per repository and sweep, most recently pushed first (whole number >= 1). `null`: no limit."
  type        = number
  default     = null

  validation {
    condition     = var.max_images_per_repository == null || try(var.max_images_per_repository >= 1 && floor(var.max_images_per_repository) == var.max_images_per_repository, false)
    error_message = "max_images_per_repository must be a whole number of at least 1, or null for no limit."
  }
}

variable "max_scan_concurrency" {
  description = "Most concurrent invocations of the images function the SQS event source may run (2-1000; AWS's minimum is 2). Keeps the sweep within ECR's API rate limits."
  type        = number
  default     = 2
  nullable    = false

  validation {
    condition     = var.max_scan_concurrency >= 2 && var.max_scan_concurrency <= 1000 && floor(var.max_scan_concurrency) == var.max_scan_concurrency
    error_message = "max_scan_concurrency must be a whole number from 2 to 1000 (the range AWS accepts for an SQS event source's maximum concurrency)."
  }
}

variable "images_batch_size" {
  description = "Repositories handed to one invocation of the images function (SQS batch size, 1-10). Small batches keep each invocation within its timeout."
  type        = number
  default     = 5
  nullable    = false

  validation {
    condition     = var.images_batch_size >= 1 && var.images_batch_size <= 10 && floor(var.images_batch_size) == var.images_batch_size
    error_message = "images_batch_size must be a whole number from 1 to 10."
  }
}

variable "images_timeout_seconds" {
  description = "Timeout of the images function in seconds (60-900). The work queue's visibility timeout is six times this value, as AWS recommends for SQS event sources."
  type        = number
  default     = 300
  nullable    = false

  validation {
    condition     = var.images_timeout_seconds >= 60 && var.images_timeout_seconds <= 900 && floor(var.images_timeout_seconds) == var.images_timeout_seconds
    error_message = "images_timeout_seconds must be a whole number of seconds from 60 to 900 (Lambda's maximum)."
  }
}

variable "max_receive_count" {
  description = "Deliveries of a work-queue message before SQS moves it to the dead-letter queue (1-1000)."
  type        = number
  default     = 5
  nullable    = false

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000 && floor(var.max_receive_count) == var.max_receive_count
    error_message = "max_receive_count must be a whole number from 1 to 1000."
  }
}

variable "create_sns_topic" {
  description = "Create the notification topic (encrypted; see `kms_key_arn` and `create_topic_kms_key`). `false`: publish to `sns_topic_arn` instead, which must then be given. A boolean, not the null-ness of `sns_topic_arn`, decides what is created, so `sns_topic_arn` may be the ARN of a topic created in the same configuration (unknown until it is applied)."
  type        = bool
  default     = true
  nullable    = false
}

variable "sns_topic_arn" {
  description = "With `create_sns_topic = false` (and only then): the existing SNS topic notifications are published to; it may be created in the same configuration. Encrypting it is up to you: if a customer-managed key other than `kms_key_arn` encrypts it, its key policy must let the publishing roles (output `publisher_role_arns`) use it, and a key in the topic's account and region that is not this deployment's (an organization hub's) is given as `hub_kms_key_arn`, which grants them the key through SNS. In this deployment's partition, region and account unless `allow_external_sns_topic`. `null` (with the default `create_sns_topic = true`): the module creates the topic."
  type        = string
  default     = null

  validation {
    # Same shape as the function's own check (lambda/ecr_scan_reporter/core/config.py).
    condition     = var.sns_topic_arn == null || can(regex("^arn:aws[a-zA-Z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\\.fifo)?$", coalesce(var.sns_topic_arn, "-")))
    error_message = "sns_topic_arn must be an SNS topic ARN such as arn:aws:sns:eu-west-1:123456789012:security-alerts, or null to let the module create a topic."
  }
}

variable "allow_external_sns_topic" {
  description = "Accept an `sns_topic_arn` in another account or region than the deployment's: a central topic, on purpose (its owner must let the publishing roles, output `publisher_role_arns`, publish; see the README). The partition must still match. `false`: such a topic is refused at plan time, so an ARN copied from another workspace's tfvars is caught."
  type        = bool
  default     = false
  nullable    = false
}

variable "email_subscriptions" {
  description = "Email addresses subscribed to the notification topic (each must confirm the subscription from the email AWS sends)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for email in var.email_subscriptions : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", email))])
    error_message = "Each email_subscriptions entry must be an email address such as security@example.com."
  }
}

variable "subscriptions" {
  description = "More subscriptions to the notification topic (the created one, or `sns_topic_arn`), by a name of your choice (the name keys the subscription in the state: renaming one replaces it; removing one leaves the others alone). Each is a map of strings with the keys `protocol` (`http`, `https`, `email`, `email-json`, `sms`, `sqs`, `application`, `lambda` or `firehose`), `endpoint` (required: the address, URL, phone number in E.164 form or ARN the protocol takes; an ARN created in the same configuration is fine), and optionally `filter_policy` (a JSON object, e.g. `jsonencode({ repository = [{ prefix = \"payments/\" }] })`: at most 5 top-level keys, no nested objects with the default scope), `filter_policy_scope` (`MessageAttributes`, the default, or `MessageBody`; only with `filter_policy`), `raw_message_delivery` (`true`/`false`; `sqs`, `http`, `https` and `firehose` only) and `subscription_role_arn` (required with `firehose`, refused otherwise). Any other key is refused. Messages carry the attributes `repository`, `highest_severity` and `event_type` (see the README). A FIFO topic only delivers to `sqs`. Endpoints other than `sqs`, `lambda`, `firehose` and `application` must confirm the subscription."
  # A map of maps, not objects: Terraform silently drops attributes an object type does not declare, so a misspelt
  # "filter_polcy" would subscribe the endpoint to every message. Keyed by name, not by list index (removing an
  # entry would replace every later subscription, and email endpoints would have to confirm again) or by endpoint
  # (an ARN created in the same configuration is unknown at plan time and cannot key for_each).
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
    condition     = alltrue([for subscription in values(var.subscriptions) : contains(["http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose"], lookup(subscription, "protocol", "-"))])
    error_message = "Each subscriptions entry needs a protocol, one of http, https, email, email-json, sms, sqs, application, lambda and firehose (lower case, as SNS spells them)."
  }

  validation {
    # An endpoint unknown at plan time (an ARN created in the same configuration) is checked at apply.
    condition     = alltrue([for subscription in values(var.subscriptions) : trimspace(lookup(subscription, "endpoint", "")) != ""])
    error_message = "Each subscriptions entry needs a non-empty endpoint: the email address, URL, phone number or ARN its protocol delivers to."
  }

  validation {
    condition = alltrue([
      for subscription in values(var.subscriptions) : can(regex(lookup({
        http        = "^http://[^\\s]+$"
        https       = "^https://[^\\s]+$"
        email       = "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$"
        email-json  = "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$"
        sms         = "^\\+[1-9][0-9]{6,14}$"
        sqs         = "^arn:aws[a-zA-Z-]*:sqs:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,80}(\\.fifo)?$"
        application = "^arn:aws[a-zA-Z-]*:sns:[a-z0-9-]+:[0-9]{12}:endpoint/[^\\s]+$"
        lambda      = "^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]{1,128})?$"
        firehose    = "^arn:aws[a-zA-Z-]*:firehose:[a-z0-9-]+:[0-9]{12}:deliverystream/[A-Za-z0-9_.-]{1,64}$"
      }, lookup(subscription, "protocol", "-"), "."), lookup(subscription, "endpoint", "")))
    ])
    error_message = "Each subscriptions endpoint must fit its protocol: http/https a URL of that scheme, email/email-json an email address, sms a phone number in E.164 form (+ and 7-15 digits, e.g. +14155550100), sqs a queue ARN, lambda a function ARN (optionally with a version or alias), firehose a delivery stream ARN, application a platform endpoint ARN (arn:aws:sns:<region>:<account>:endpoint/...)."
  }

  validation {
    condition = alltrue([
      for subscription in values(var.subscriptions) : !contains(keys(subscription), "filter_policy") || try(
        length(keys(jsondecode(subscription.filter_policy))) >= 1 && length(keys(jsondecode(subscription.filter_policy))) <= 5,
        false
      )
    ])
    error_message = "Each subscriptions filter_policy must be a JSON object of 1 to 5 top-level keys (SNS's limit), such as jsonencode({ repository = [{ prefix = \"payments/\" }], event_type = [\"threshold_breached\"] })."
  }

  validation {
    # SNS accepts nested objects only when the policy applies to the message body.
    condition = alltrue([
      for subscription in values(var.subscriptions) : lookup(subscription, "filter_policy_scope", "MessageAttributes") != "MessageAttributes" || try(
        alltrue([for value in values(jsondecode(subscription.filter_policy)) : !startswith(jsonencode(value), "{")]),
        true # no (or no valid) filter_policy: the checks above and below answer
      )
    ])
    error_message = "A subscriptions filter_policy applied to MessageAttributes (the default scope) cannot nest objects: each key names a message attribute (repository, highest_severity, event_type) and takes a list of values or conditions, as in { repository = [{ prefix = \"payments/\" }] }. Nested policies need filter_policy_scope = \"MessageBody\"."
  }

  validation {
    condition = alltrue([
      for subscription in values(var.subscriptions) : !contains(keys(subscription), "filter_policy_scope") || (
        contains(["MessageAttributes", "MessageBody"], lookup(subscription, "filter_policy_scope", "-")) && contains(keys(subscription), "filter_policy")
      )
    ])
    error_message = "Each subscriptions filter_policy_scope must be MessageAttributes or MessageBody (spelled as SNS spells them), and is only accepted together with a filter_policy."
  }

  validation {
    condition = alltrue([
      for subscription in values(var.subscriptions) : !contains(keys(subscription), "raw_message_delivery") || (
        contains(["true", "false"], lookup(subscription, "raw_message_delivery", "-")) && contains(["sqs", "http", "https", "firehose"], lookup(subscription, "protocol", "-"))
      )
    ])
    error_message = "Each subscriptions raw_message_delivery must be true or false, and SNS offers it only to the sqs, http, https and firehose protocols."
  }

  validation {
    condition = alltrue([
      for subscription in values(var.subscriptions) : lookup(subscription, "protocol", "-") == "firehose" ? can(regex("^arn:aws[a-zA-Z-]*:iam::[0-9]{12}:role/[^\\s]+$", lookup(subscription, "subscription_role_arn", ""))) : !contains(keys(subscription), "subscription_role_arn")
    ])
    error_message = "A firehose subscription needs subscription_role_arn, the ARN of an IAM role SNS assumes to write to the delivery stream (arn:aws:iam::<account>:role/<name>); the other protocols take none."
  }
}

variable "kms_key_arn" {
  description = "ARN of a customer-managed KMS key that encrypts the queues, the topics, the scan ledger table, the report bucket, the log groups and the functions' environment. Its key policy must delegate to the account's IAM policies (the default key policy statement: each function's policy grants it the key only through the services of what it uses: SQS, SNS, DynamoDB, S3 and Lambda) and let CloudWatch Logs (`logs.<region>.amazonaws.com`), EventBridge (`events.amazonaws.com`) and, for the alarms, CloudWatch (`cloudwatch.amazonaws.com`) use it, as in `examples/complete`. `null`: SQS-managed encryption for the queues, CloudWatch's default encryption for the logs, Lambda's AWS-managed key for the environment, and for the topic a key the module creates when the alarms notify it (output `topic_kms_key_arn`), else the AWS-managed key `alias/aws/sns`."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", coalesce(var.kms_key_arn, "-")))
    error_message = "kms_key_arn must be a KMS key ARN such as arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab (a key ARN, not an alias), or null."
  }
}

variable "create_topic_kms_key" {
  description = "Create a customer-managed KMS key for the notification topic when the module creates the topic (`create_sns_topic`) and the alarms notify it (`create_alarms`, `alarms_notify_sns_topic`): CloudWatch alarms cannot publish to a topic under the AWS-managed key `alias/aws/sns` (output `topic_kms_key_arn`). Set `false` when you give `kms_key_arn`: the topic is then encrypted with that key (a key given while this key would be created is refused). A boolean, not the null-ness of `kms_key_arn`, decides what is created, so `kms_key_arn` may be the ARN of a key created in the same configuration."
  type        = bool
  default     = true
  nullable    = false
}

variable "lambda_runtime" {
  description = "Python runtime of the four functions: `python3.12` or `python3.13` (the supported Python runtimes the AWS provider accepts)."
  type        = string
  default     = "python3.13"
  nullable    = false

  validation {
    # The code needs python3.12+; hashicorp/aws 5.100 accepts python3.12 and python3.13 (not python3.14 yet).
    condition     = contains(["python3.12", "python3.13"], var.lambda_runtime)
    error_message = "lambda_runtime must be python3.12 or python3.13: the Python runtimes that AWS supports, that the AWS provider accepts, and that the functions' code runs on."
  }
}

variable "lambda_architecture" {
  description = "Instruction set of the four functions: `arm64` (cheaper) or `x86_64`. The code is pure Python."
  type        = string
  default     = "arm64"
  nullable    = false

  validation {
    condition     = contains(["arm64", "x86_64"], var.lambda_architecture)
    error_message = "lambda_architecture must be arm64 or x86_64."
  }
}

variable "lambda_memory_size" {
  description = "Memory of each function in MB, by function key (`repositories`, `images`, `findings`, `report`): a whole number from 128 to 10240 (Lambda's range; Lambda gives CPU in proportion, one full vCPU at 1769). A function left out, or `null`, keeps the module's size: repositories 256, images 256, findings 256, report 512. Any other key is refused. When to raise it: docs/operations.md (the measured memory and time of the images function and of the report at 100,000 images; raise `report` past about 300,000 images)."
  # A map, like reserved_concurrent_executions: an object type would silently drop a misspelt key ("reports").
  type     = map(number)
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for key in keys(var.lambda_memory_size) : contains(["repositories", "images", "findings", "report"], key)])
    error_message = "lambda_memory_size accepts only the keys repositories, images, findings and report (lower case); refused: ${join(", ", [for key in keys(var.lambda_memory_size) : key if !contains(["repositories", "images", "findings", "report"], key)])}."
  }

  validation {
    condition     = alltrue([for value in values(var.lambda_memory_size) : value == null ? true : value >= 128 && value <= 10240 && floor(value) == value])
    error_message = "Each lambda_memory_size value must be a whole number of MB from 128 to 10240 (the range Lambda accepts), or null for the module's size."
  }
}

variable "log_retention_days" {
  description = "Days the functions' CloudWatch log groups keep their events (one of CloudWatch's allowed values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch Logs' allowed values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "log_level" {
  description = "Log level of the four functions: `DEBUG`, `INFO`, `WARNING` or `ERROR`."
  type        = string
  default     = "INFO"
  nullable    = false

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR (upper case)."
  }
}

variable "permissions_boundary_arn" {
  description = "ARN of an IAM managed policy set as the permissions boundary of the four IAM roles. `null`: no boundary."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary_arn == null || can(regex("^arn:aws[a-zA-Z-]*:iam::([0-9]{12}|aws):policy/.+$", coalesce(var.permissions_boundary_arn, "-")))
    error_message = "permissions_boundary_arn must be an IAM policy ARN such as arn:aws:iam::123456789012:policy/boundary, or null."
  }
}

variable "tags" {
  description = "Tags added to every resource that supports them (the module adds `terraform-module = ecr-scan-reporter`). Keys: 1-128 characters, not starting with `aws:` (reserved by AWS); values: at most 256 characters; at most 49 tags (AWS allows 50 per resource, the module adds one)."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for key in keys(var.tags) : length(key) >= 1 && length(key) <= 128 && !startswith(lower(key), "aws:")])
    error_message = "Each tags key must be 1-128 characters long and must not start with \"aws:\" in any case (AWS reserves that prefix); refused: ${join(", ", [for key in keys(var.tags) : format("%q", key) if !(length(key) >= 1 && length(key) <= 128 && !startswith(lower(key), "aws:"))])}."
  }

  validation {
    condition     = alltrue([for value in values(var.tags) : value != null && length(value) <= 256])
    error_message = "Each tags value must be a string of at most 256 characters (empty is allowed)."
  }

  validation {
    condition     = length(var.tags) <= 49
    error_message = "tags may hold at most 49 tags: AWS allows 50 per resource and the module adds terraform-module = ecr-scan-reporter."
  }
}

# --- alarms and security posture (issue 8, sections 3 and 4) -------------------------------------------------------

variable "create_alarms" {
  description = "Create CloudWatch alarms for lost work: messages in the dead-letter and failed-events queues, errors of each function, the sweep not running (docs/operations.md says when that one can be computed), a report S3 refused to store (with `create_report_bucket`) and accepted risks not applied (with `suppressions`)."
  type        = bool
  default     = true
  nullable    = false
}

variable "alarms_notify_sns_topic" {
  description = "The alarms notify the notification topic (the created one, or `sns_topic_arn`). `false`: they notify `alarm_topic_arn`, which must then be given (it may be created in the same configuration: a boolean, not its null-ness, decides whether the module's topic needs a key and a policy for CloudWatch)."
  type        = bool
  default     = true
  nullable    = false
}

variable "alarm_topic_arn" {
  description = "With `alarms_notify_sns_topic = false` (and only then): the SNS topic the alarms notify (on ALARM and back to OK), in the deployment's partition and region. `null`: the alarms notify the notification topic. A topic encrypted with a customer-managed key needs that key's policy to let `cloudwatch.amazonaws.com` use it (`kms:Decrypt`, `kms:GenerateDataKey*`); a topic encrypted with the AWS-managed key `alias/aws/sns` never receives alarms."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_topic_arn == null || can(regex("^arn:aws[a-zA-Z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", coalesce(var.alarm_topic_arn, "-")))
    error_message = "alarm_topic_arn must be a standard (not FIFO: CloudWatch alarms cannot publish to FIFO topics) SNS topic ARN such as arn:aws:sns:eu-west-1:123456789012:ops-alarms, or null to notify the notification topic."
  }
}

variable "tracing_mode" {
  description = "AWS X-Ray tracing of the four functions: `PassThrough` (Lambda's default: traced only when the caller sampled the request) or `Active` (every invocation sampled and traced; the roles get the X-Ray write permissions; X-Ray charges apply)."
  type        = string
  default     = "PassThrough"
  nullable    = false

  validation {
    condition     = contains(["PassThrough", "Active"], var.tracing_mode)
    error_message = "tracing_mode must be PassThrough or Active (spelled as Lambda spells them)."
  }
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency per function, by function key (`repositories`, `images`, `findings`, `report`): a whole number >= 1 that both guarantees and caps the function's concurrent executions. A function left out has no reservation (it shares the account's unreserved pool; AWS refuses reservations that leave fewer than 10 unreserved, so accounts at the default limit of 10 cannot reserve any). The images function's reservation must be at least `max_scan_concurrency`."
  type        = map(number)
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for key in keys(var.reserved_concurrent_executions) : contains(["repositories", "images", "findings", "report"], key)])
    error_message = "reserved_concurrent_executions accepts only the keys repositories, images, findings and report (lower case)."
  }

  validation {
    condition     = alltrue([for value in values(var.reserved_concurrent_executions) : value == null ? true : value >= 1 && floor(value) == value])
    error_message = "Each reserved_concurrent_executions value must be a whole number of at least 1, or null for no reservation (0 would stop the function: leave the key out instead)."
  }
}

variable "notify_on" {
  description = "When an image in breach is notified: `new_findings` (its first breaching result, then only when a finding not notified before appears at a breached severity, or a severity newly breaches; the scan ledger remembers what was sent) or `every_scan` (every breaching result, as before the ledger)."
  type        = string
  default     = "new_findings"
  nullable    = false

  validation {
    condition     = contains(["new_findings", "every_scan"], var.notify_on)
    error_message = "notify_on must be \"new_findings\" or \"every_scan\"."
  }
}

variable "notify_on_resolved" {
  description = "Send one `resolved` notification when an image that breached a threshold has a result within every threshold again."
  type        = bool
  default     = true
  nullable    = false
}

variable "renotify_after_days" {
  description = "An image still in breach whose last notification is older than this many days gets a `reminder` notification with its next scan result (whole number, 1-365). `null`: never remind."
  type        = number
  default     = 30

  validation {
    condition     = var.renotify_after_days == null || try(var.renotify_after_days >= 1 && var.renotify_after_days <= 365 && floor(var.renotify_after_days) == var.renotify_after_days, false)
    error_message = "renotify_after_days must be a whole number of days from 1 to 365, or null to never send reminders."
  }
}

variable "ledger_deletion_protection" {
  description = "Turn on DynamoDB deletion protection for the scan ledger table: `terraform destroy` then fails until it is turned off again. Losing the ledger loses no scan, only its memory (the next results of images in breach are notified again)."
  type        = bool
  default     = false
  nullable    = false
}

variable "findings_in_notification" {
  description = "How many findings a notification lists (0-50): the most severe first (by severity, then CVSS/Inspector score, then EPSS), each with its package, version, fixed-in version when known and reference URL; the rest are summed up as \"and N more\" with the console link. 0 lists none (the counts and the link remain)."
  type        = number
  default     = 10
  nullable    = false

  validation {
    condition     = var.findings_in_notification >= 0 && var.findings_in_notification <= 50 && floor(var.findings_in_notification) == var.findings_in_notification
    error_message = "findings_in_notification must be a whole number from 0 to 50."
  }
}

variable "suppressions" {
  description = "Accepted risks: findings that do not count toward the thresholds and are not listed, until they expire. Each entry: `vulnerability_id` (the finding's name, e.g. `CVE-2024-1234`; matched exactly, case-insensitive: no wildcards), `repository_regex` (optional; repositories it applies to, search semantics and syntax as `repository_include_regex`; default every repository), `expires` (`YYYY-MM-DD`, UTC: on and after that day the finding counts again and notifications name the expired suppression) and `reason` (required: why the risk is accepted). Any other key is refused (a misspelt `repository_regex` would otherwise widen the entry to every repository). Stored as one item in the scan ledger table, not in the function's environment, so hundreds fit."
  # A map, not an object: an object type would silently drop a misspelt key (`repository = ...`), turning the entry
  # into one for every repository. The keys are checked below instead.
  type     = list(map(string))
  default  = []
  nullable = false

  validation {
    condition = alltrue([for s in var.suppressions : length(setsubtract(keys(s), ["vulnerability_id", "repository_regex", "expires", "reason"])) == 0])
    error_message = "Unknown key(s) in suppressions: ${join("; ", [
      for i, s in var.suppressions : "entry ${i}: ${join(", ", sort(setsubtract(keys(s), ["vulnerability_id", "repository_regex", "expires", "reason"])))}"
      if length(setsubtract(keys(s), ["vulnerability_id", "repository_regex", "expires", "reason"])) > 0
    ])}. The accepted keys are vulnerability_id, repository_regex (optional), expires and reason."
  }

  validation {
    condition = alltrue([for s in var.suppressions : alltrue([for key in ["vulnerability_id", "expires", "reason"] : lookup(s, key, null) != null])])
    error_message = "Missing key(s) in suppressions: ${join("; ", [
      for i, s in var.suppressions : "entry ${i}: ${join(", ", [for key in ["vulnerability_id", "expires", "reason"] : key if lookup(s, key, null) == null])}"
      if anytrue([for key in ["vulnerability_id", "expires", "reason"] : lookup(s, key, null) == null])
    ])}. Every entry needs vulnerability_id, expires and reason (repository_regex is optional)."
  }

  validation {
    condition     = alltrue([for s in var.suppressions : try(trimspace(s.vulnerability_id) != "" && !can(regex("\\s", trimspace(s.vulnerability_id))), false)])
    error_message = "Every suppression needs a vulnerability_id: the finding's name without spaces, e.g. CVE-2024-1234."
  }

  validation {
    # The id is compared for equality: "CVE-2024-*" would pass and never match a finding.
    condition     = alltrue([for s in var.suppressions : !can(regex("[*?\\[\\]]", lookup(s, "vulnerability_id", "")))])
    error_message = "A suppression's vulnerability_id is matched exactly (case-insensitive), never as a pattern: give one finding's name per entry, e.g. CVE-2024-1234, without *, ? or [...] (one entry per finding; repository_regex narrows the repositories)."
  }

  validation {
    condition     = alltrue([for s in var.suppressions : try(can(regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}$", s.expires)) && can(formatdate("YYYY", "${s.expires}T00:00:00Z")), false)])
    error_message = "Every suppression's expires must be a real date written YYYY-MM-DD (for example 2026-06-30)."
  }

  validation {
    condition     = alltrue([for s in var.suppressions : try(trimspace(s.reason) != "", false)])
    error_message = "Every suppression needs a reason: why the risk is accepted (it is shown in notifications once the suppression expires)."
  }

  validation {
    condition     = alltrue([for s in var.suppressions : can(regexall(coalesce(lookup(s, "repository_regex", null), ".*"), ""))])
    error_message = "A suppression's repository_regex is not a valid regular expression (Terraform checks it with RE2: look-around and backreferences are not supported)."
  }

  validation {
    # The same RE2-only constructs repository_include_regex refuses (see there).
    condition     = alltrue([for s in var.suppressions : !can(regex("\\\\(x\\{|[pPQEzC1-9])|\\[:\\^?[A-Za-z]+:\\]|\\(\\?<[A-Za-z_]|\\(\\?[A-Za-z-]*U|\\{,|\\[[^\\]]*\\\\[dDsSwW]-[^\\]]", replace(coalesce(lookup(s, "repository_regex", null), ".*"), "\\\\", ""))) && !can(regex("\\(\\?[A-Za-z-]+\\)", replace(replace(coalesce(lookup(s, "repository_regex", null), ".*"), "\\\\", ""), "/^(\\(\\?[A-Za-z]+\\))+/", "")))])
    error_message = "A suppression's repository_regex uses RE2 syntax that Python's re (which the functions use) rejects or reads differently. Write it in the common subset: \\xHH not \\x{..}; ranges such as [a-z0-9] not \\p{..}/\\pN or [[:alpha:]]; escape each character instead of \\Q...\\E; $ not \\z; (?P<name>...) not (?<name>...); \\xHH not \\1-\\9; {0,n} not {,n}; flags only as a leading (?i), (?m), (?s) or scoped (?i:...), never U or (?-i); no \\d, \\s or \\w as a range end in [...]."
  }

  validation {
    # The nested-quantifier rule repository_include_regex applies (see there).
    condition     = alltrue([for s in var.suppressions : !can(regex("\\)[^()]*\\)[*+{]|\\([^()]*[*+?{|][^()]*\\)[*+{]", replace(replace(replace(replace(coalesce(lookup(s, "repository_regex", null), ".*"), "/\\\\./", "e"), "/\\[\\^?\\]?[^\\]]*\\]/", "c"), "/\\(\\?(P<[A-Za-z0-9_]*>|[A-Za-z-]*:)/", "("), "/\\(\\?[A-Za-z-]*\\)/", "")))])
    error_message = "A suppression's repository_regex repeats a group that holds a quantifier, an alternation or another group, such as ([a-z0-9]+-?)+ or (a|aa)+: Python's re (which the functions use) can take exponential time on such a regex and hang them. Repeat a set instead ([a-z0-9-]+), or write the group once without repeating it."
  }

  validation {
    condition     = length(jsonencode(var.suppressions)) <= 350000
    error_message = "The suppressions take more than 350,000 characters as JSON: they must fit one DynamoDB item (400 KB)."
  }
}

variable "create_chat_topic" {
  description = "Create a second SNS topic that receives every notification in the Amazon Q Developer in chat applications (formerly AWS Chatbot) custom-notification format, ready to connect to a Slack channel, a Microsoft Teams channel or an Amazon Chime room (see the README). Its ARN is the `chat_topic_arn` output."
  type        = bool
  default     = false
  nullable    = false
}

variable "chat_topic_arn" {
  description = "Publish the chat form of every notification to this existing SNS topic instead of a created one (with `create_chat_topic` false: setting both is refused), for example a topic already connected to a chat channel. A standard topic (not FIFO: Amazon Q Developer in chat applications subscribes over HTTPS, which FIFO topics cannot deliver to) in the deployment's partition, region and account, other than the notification topic; its access policy and encryption are up to you (a customer-managed key other than `kms_key_arn` must let the findings role, output `role_arns`, use it; a hub's key is given as `hub_kms_key_arn`). `null`: no chat topic unless `create_chat_topic`."
  type        = string
  default     = null

  validation {
    condition     = var.chat_topic_arn == null || can(regex("^arn:aws[a-zA-Z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", coalesce(var.chat_topic_arn, "-")))
    error_message = "chat_topic_arn must be a standard (not FIFO: Amazon Q Developer in chat applications cannot receive from FIFO topics) SNS topic ARN such as arn:aws:sns:eu-west-1:123456789012:security-chat, or null."
  }
}

# --- metrics, dashboard and the exposure report ---------------------------------------------------------------------

variable "metrics_namespace" {
  description = "CloudWatch namespace of the functions' metrics (written as Embedded Metric Format log lines, no PutMetricData). 1-255 characters: letters, digits and `. - _ / # :`; not starting with `AWS/`."
  type        = string
  default     = "ECRScanReporter"
  nullable    = false

  validation {
    # Same rule as the functions' own check (lambda/ecr_scan_reporter/core/metrics.py).
    condition     = can(regex("^[A-Za-z0-9._/#:-]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be 1-255 characters of letters, digits and . - _ / # : and must not start with AWS/ (reserved for AWS services)."
  }
}

variable "create_dashboard" {
  description = "Create a CloudWatch dashboard (`<name_prefix>-<region>`) of the functions' metrics, the queues' depths and the functions' errors."
  type        = bool
  default     = true
  nullable    = false
}

variable "report_schedule_expression" {
  description = "When the exposure report is built from the scan ledger and published to the notification topic: an EventBridge schedule expression such as `cron(0 6 ? * MON *)` (Mondays 06:00 UTC, the default) or `rate(7 days)`. `null`: no scheduled report (the report function can still be invoked)."
  type        = string
  default     = "cron(0 6 ? * MON *)"

  validation {
    condition = var.report_schedule_expression == null || (
      can(regex("^rate\\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\\)$", coalesce(var.report_schedule_expression, "-"))) ||
      can(regex("^cron\\([^ ()]+( [^ ()]+){5}\\)$", coalesce(var.report_schedule_expression, "-")))
    )
    error_message = "report_schedule_expression must be rate(<value> <unit>) with a whole value and a unit of minute(s), hour(s) or day(s) (singular for 1, as in \"rate(7 days)\"), cron(<6 fields>) as in \"cron(0 6 ? * MON *)\", or null for no scheduled report."
  }
}

variable "create_report_bucket" {
  description = "Also write each exposure report (JSON and a self-contained HTML page) to an S3 bucket the module creates, named `report_bucket_name` (which must then be given): public access blocked, ACLs disabled, encrypted (with `kms_key_arn` when given), versioned, TLS only, old reports expired after `report_retention_days`. A boolean, not the null-ness of `report_bucket_name`, decides what is created, so the name may be built from a value unknown until apply (a `random_id` suffix)."
  type        = bool
  default     = false
  nullable    = false
}

variable "report_bucket_name" {
  description = "With `create_report_bucket = true` (and only then): the name of the report bucket. Bucket names are global: include the region (and the account) when the module is applied to several. `null`: no bucket."
  type        = string
  default     = null

  validation {
    # S3's general purpose bucket naming rules.
    condition = var.report_bucket_name == null || (
      can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", coalesce(var.report_bucket_name, "-"))) &&
      !can(regex("\\.\\.|^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$|^(xn--|sthree-|amzn-s3-demo-)|(-s3alias|--ol-s3|\\.mrap|--x-s3|--table-s3)$", coalesce(var.report_bucket_name, "-")))
    )
    error_message = "report_bucket_name must follow S3's bucket naming rules: 3-63 characters of lower-case letters, digits, dots and hyphens, beginning and ending with a letter or digit, no two adjacent dots, not an IP address, no reserved prefix (xn--, sthree-, amzn-s3-demo-) or suffix (-s3alias, --ol-s3, .mrap, --x-s3, --table-s3)."
  }
}

variable "report_retention_days" {
  description = "Days the report bucket keeps each report (whole number, 1-3650); older versions are removed 30 days after being replaced. `null`: keep reports forever. Used only with `create_report_bucket`."
  type        = number
  default     = 365

  validation {
    condition     = var.report_retention_days == null || try(var.report_retention_days >= 1 && var.report_retention_days <= 3650 && floor(var.report_retention_days) == var.report_retention_days, false)
    error_message = "report_retention_days must be a whole number of days from 1 to 3650, or null to keep reports forever."
  }
}

variable "report_bucket_force_destroy" {
  description = "Let `terraform destroy` delete the report bucket with every report (and version) in it. Default `false`: destroy fails while the bucket holds reports, so none is lost by accident."
  type        = bool
  default     = false
  nullable    = false
}

# --- teams: who owns a repository, and where its alerts go (issue 19; teams.tf, docs/teams.md) ---------------------

variable "teams" {
  description = "The teams that own repositories, in order: each gets the alerts of its repositories, with its own thresholds, on its own topic. A repository belongs to the team its `team_tag_key` tag names, else to the first team whose `repository_regex` matches, else to nobody (the module's own settings and topic). Each team is an object: `name` (required, unique: 1-40 characters of lower-case letters, digits, `-` and `_`, starting with a letter or digit; `unowned` is reserved), `repository_regex` (syntax and search semantics as `repository_include_regex`), the settings `severity_thresholds`, `notify_on`, `renotify_after_days` (`null`: never remind) and `notify_on_resolved` (each as the module's input of that name, which it defaults to when left out), `sns_topic_arn` (an existing topic, such as an organization hub's team topic, output `spoke_teams` of modules/hub; left out, the module creates `<name_prefix>-<name>`, output `team_topic_arns`, unless `create_team_topics` says otherwise), `email_subscriptions` and `subscriptions` (as the module's, on the team's topic), `create_chat_topic` (a `<name_prefix>-<name>-chat` topic in the chat format) or `chat_topic_arn` (an existing topic for the chat form, such as an organization hub's team chat topic: the module then creates none), `count_only_fixable` and `alert_on_exploitable` (default `false`). Any other key is refused. See docs/teams.md."
  # `any`, not a list of objects: an object type silently drops a misspelt attribute ("severity_threshold"), and
  # optional() cannot tell a renotify_after_days left out (the module's) from one set to null (never). The shape and
  # the keys are checked below instead.
  type     = any
  default  = []
  nullable = false

  validation {
    condition     = can([for team in var.teams : keys(team)]) && !can(keys(var.teams)) && !can(tostring(var.teams))
    error_message = "teams must be a list of team objects, such as [{ name = \"payments\", repository_regex = \"^payments/\" }]."
  }

  validation {
    condition = try(alltrue([
      for team in var.teams : length(setsubtract(keys(team), ["name", "repository_regex", "severity_thresholds", "notify_on", "renotify_after_days", "notify_on_resolved", "sns_topic_arn", "email_subscriptions", "subscriptions", "create_chat_topic", "chat_topic_arn", "count_only_fixable", "alert_on_exploitable"])) == 0
    ]), true)
    error_message = "Unknown key(s) in teams: ${try(join("; ", [
      for i, team in var.teams : "teams[${i}] (${try(tostring(team.name), "no name")}): ${join(", ", sort(setsubtract(keys(team), ["name", "repository_regex", "severity_thresholds", "notify_on", "renotify_after_days", "notify_on_resolved", "sns_topic_arn", "email_subscriptions", "subscriptions", "create_chat_topic", "chat_topic_arn", "count_only_fixable", "alert_on_exploitable"])))}"
      if length(setsubtract(keys(team), ["name", "repository_regex", "severity_thresholds", "notify_on", "renotify_after_days", "notify_on_resolved", "sns_topic_arn", "email_subscriptions", "subscriptions", "create_chat_topic", "chat_topic_arn", "count_only_fixable", "alert_on_exploitable"])) > 0
    ]), "-")}. A team accepts name, repository_regex, severity_thresholds, notify_on, renotify_after_days, notify_on_resolved, sns_topic_arn, email_subscriptions, subscriptions, create_chat_topic, chat_topic_arn, count_only_fixable and alert_on_exploitable."
  }

  validation {
    # The name becomes part of topic names (<name_prefix>-<name>-chat: at most 78 characters of SNS's 256) and is
    # the value of the Team metric dimension, where "unowned" counts the repositories no team owns.
    condition = try(alltrue([
      for team in var.teams : !can(keys(team)) || try(can(regex("^[a-z0-9][a-z0-9_-]{0,39}$", team.name)) && team.name != "unowned", false)
    ]), true)
    error_message = "Each team needs a name of 1-40 characters: lower-case letters, digits, hyphens (-) and underscores (_), starting with a letter or digit (it becomes part of the topic names <name_prefix>-<name> and <name_prefix>-<name>-chat); \"unowned\" is reserved for the repositories no team owns. Refused: ${try(join(", ", [
      for i, team in var.teams : "teams[${i}] ${try(jsonencode(team.name), "(no name)")}"
      if can(keys(team)) && !try(can(regex("^[a-z0-9][a-z0-9_-]{0,39}$", team.name)) && team.name != "unowned", false)
    ]), "-")}."
  }

  validation {
    condition     = try(length(distinct([for team in var.teams : tostring(team.name)])) == length(var.teams), true)
    error_message = "Each team's name must be unique; given more than once: ${try(join(", ", [for name in distinct([for team in var.teams : tostring(team.name)]) : name if length([for team in var.teams : team if tostring(team.name) == name]) > 1]), "-")}."
  }

  validation {
    # The topics the module creates are <name_prefix>-notifications, <name_prefix>-chat and, per team, <name_prefix>-<name>
    # (no sns_topic_arn) and <name_prefix>-<name>-chat (create_chat_topic): a name two of them share would be one SNS
    # topic managed by two resources (destroying the team would delete the other's topic). The module's two names are
    # reserved whatever create_sns_topic and create_chat_topic say (a variable's validation sees only itself, and a
    # flag flipped later must not collide either). Two teams of one name are the uniqueness rule's (above).
    condition = try(alltrue([
      for topic in distinct([for created in concat(
        [{ topic = "notifications", owner = "", what = "the module's notification topic" }, { topic = "chat", owner = "", what = "the module's chat topic" }],
        flatten([
          for team in var.teams : concat(
            contains(keys(team), "sns_topic_arn") ? [] : [{ topic = tostring(team.name), owner = tostring(team.name), what = "the topic of team ${team.name}" }],
            try(tobool(team.create_chat_topic) == true, false) ? [{ topic = "${team.name}-chat", owner = tostring(team.name), what = "the chat topic of team ${team.name}" }] : [],
          ) if can(keys(team))
        ]),
      ) : created.topic]) :
      length(distinct([for created in concat(
        [{ topic = "notifications", owner = "", what = "the module's notification topic" }, { topic = "chat", owner = "", what = "the module's chat topic" }],
        flatten([
          for team in var.teams : concat(
            contains(keys(team), "sns_topic_arn") ? [] : [{ topic = tostring(team.name), owner = tostring(team.name), what = "the topic of team ${team.name}" }],
            try(tobool(team.create_chat_topic) == true, false) ? [{ topic = "${team.name}-chat", owner = tostring(team.name), what = "the chat topic of team ${team.name}" }] : [],
          ) if can(keys(team))
        ]),
      ) : created.owner if created.topic == topic])) == 1
    ]), true)
    error_message = "Team names must not give two created topics one name: ${try(join("; ", [
      for topic in distinct([for created in concat(
        [{ topic = "notifications", owner = "", what = "the module's notification topic" }, { topic = "chat", owner = "", what = "the module's chat topic" }],
        flatten([
          for team in var.teams : concat(
            contains(keys(team), "sns_topic_arn") ? [] : [{ topic = tostring(team.name), owner = tostring(team.name), what = "the topic of team ${team.name}" }],
            try(tobool(team.create_chat_topic) == true, false) ? [{ topic = "${team.name}-chat", owner = tostring(team.name), what = "the chat topic of team ${team.name}" }] : [],
          ) if can(keys(team))
        ]),
      ) : created.topic]) :
      "<name_prefix>-${topic} would be ${join(" and ", [for created in concat(
        [{ topic = "notifications", owner = "", what = "the module's notification topic" }, { topic = "chat", owner = "", what = "the module's chat topic" }],
        flatten([
          for team in var.teams : concat(
            contains(keys(team), "sns_topic_arn") ? [] : [{ topic = tostring(team.name), owner = tostring(team.name), what = "the topic of team ${team.name}" }],
            try(tobool(team.create_chat_topic) == true, false) ? [{ topic = "${team.name}-chat", owner = tostring(team.name), what = "the chat topic of team ${team.name}" }] : [],
          ) if can(keys(team))
        ]),
      ) : created.what if created.topic == topic])}"
      if length(distinct([for created in concat(
        [{ topic = "notifications", owner = "", what = "the module's notification topic" }, { topic = "chat", owner = "", what = "the module's chat topic" }],
        flatten([
          for team in var.teams : concat(
            contains(keys(team), "sns_topic_arn") ? [] : [{ topic = tostring(team.name), owner = tostring(team.name), what = "the topic of team ${team.name}" }],
            try(tobool(team.create_chat_topic) == true, false) ? [{ topic = "${team.name}-chat", owner = tostring(team.name), what = "the chat topic of team ${team.name}" }] : [],
          ) if can(keys(team))
        ]),
      ) : created.owner if created.topic == topic])) > 1
    ]), "-")}. Rename the team, or give it an sns_topic_arn of its own (the module then creates no <name_prefix>-<name> topic) or no create_chat_topic."
  }

  validation {
    condition     = alltrue([for team in var.teams : !can(keys(team)) || try(lookup(team, "repository_regex", null) == null || can(regexall(team.repository_regex, "")), false)])
    error_message = "A team's repository_regex is not a valid regular expression (Terraform checks it with RE2: look-around and backreferences are not supported)."
  }

  validation {
    # The same RE2-only constructs repository_include_regex refuses (see there).
    condition     = alltrue([for team in var.teams : !can(keys(team)) || try(!can(regex("\\\\(x\\{|[pPQEzC1-9])|\\[:\\^?[A-Za-z]+:\\]|\\(\\?<[A-Za-z_]|\\(\\?[A-Za-z-]*U|\\{,|\\[[^\\]]*\\\\[dDsSwW]-[^\\]]", replace(coalesce(lookup(team, "repository_regex", null), ".*"), "\\\\", ""))) && !can(regex("\\(\\?[A-Za-z-]+\\)", replace(replace(coalesce(lookup(team, "repository_regex", null), ".*"), "\\\\", ""), "/^(\\(\\?[A-Za-z]+\\))+/", ""))), true)])
    error_message = "A team's repository_regex uses RE2 syntax that Python's re (which the functions use) rejects or reads differently. Write it in the common subset: \\xHH not \\x{..}; ranges such as [a-z0-9] not \\p{..}/\\pN or [[:alpha:]]; escape each character instead of \\Q...\\E; $ not \\z; (?P<name>...) not (?<name>...); \\xHH not \\1-\\9; {0,n} not {,n}; flags only as a leading (?i), (?m), (?s) or scoped (?i:...), never U or (?-i); no \\d, \\s or \\w as a range end in [...]."
  }

  validation {
    # The nested-quantifier rule repository_include_regex applies (see there).
    condition     = alltrue([for team in var.teams : !can(keys(team)) || try(!can(regex("\\)[^()]*\\)[*+{]|\\([^()]*[*+?{|][^()]*\\)[*+{]", replace(replace(replace(replace(coalesce(lookup(team, "repository_regex", null), ".*"), "/\\\\./", "e"), "/\\[\\^?\\]?[^\\]]*\\]/", "c"), "/\\(\\?(P<[A-Za-z0-9_]*>|[A-Za-z-]*:)/", "("), "/\\(\\?[A-Za-z-]*\\)/", ""))), true)])
    error_message = "A team's repository_regex repeats a group that holds a quantifier, an alternation or another group, such as ([a-z0-9]+-?)+ or (a|aa)+: Python's re (which the functions use) can take exponential time on such a regex and hang them. Repeat a set instead ([a-z0-9-]+), or write the group once without repeating it."
  }

  validation {
    condition = alltrue([
      for team in var.teams : !can(keys(team)) || try(lookup(team, "severity_thresholds", null) == null ? true : length(setsubtract(keys(team.severity_thresholds), ["critical", "high", "medium", "low"])) == 0, false)
    ])
    error_message = "A team's severity_thresholds accepts only the keys critical, high, medium and low (lower case), like the module's severity_thresholds; refused: ${try(join("; ", [
      for i, team in var.teams : "teams[${i}] (${try(tostring(team.name), "no name")}): ${try(join(", ", sort(setsubtract(keys(team.severity_thresholds), ["critical", "high", "medium", "low"]))), "not a map of severities")}"
      if can(keys(team)) && !try(lookup(team, "severity_thresholds", null) == null ? true : length(setsubtract(keys(team.severity_thresholds), ["critical", "high", "medium", "low"])) == 0, false)
    ]), "-")}."
  }

  validation {
    condition = alltrue([
      for team in var.teams : !can(keys(team)) || try(lookup(team, "severity_thresholds", null) == null ? true : alltrue([for threshold in values(team.severity_thresholds) : threshold == null ? true : threshold >= 0 && floor(threshold) == threshold]), false)
    ])
    error_message = "Each value of a team's severity_thresholds (critical, high, medium, low) must be a non-negative whole number, or null to ignore that severity; refused: ${try(join(", ", [
      for i, team in var.teams : "teams[${i}] (${try(tostring(team.name), "no name")})"
      if can(keys(team)) && !try(lookup(team, "severity_thresholds", null) == null ? true : alltrue([for threshold in values(team.severity_thresholds) : threshold == null ? true : threshold >= 0 && floor(threshold) == threshold]), false)
    ]), "-")}."
  }

  validation {
    condition = alltrue([
      for team in var.teams : !can(keys(team)) || try(lookup(team, "notify_on", null) == null ? true : contains(["new_findings", "every_scan"], team.notify_on), false)
    ])
    error_message = "A team's notify_on must be \"new_findings\" or \"every_scan\" (or left out: the module's notify_on); refused: ${try(join(", ", [
      for i, team in var.teams : "teams[${i}] (${try(tostring(team.name), "no name")}): ${try(jsonencode(team.notify_on), "-")}"
      if can(keys(team)) && !try(lookup(team, "notify_on", null) == null ? true : contains(["new_findings", "every_scan"], team.notify_on), false)
    ]), "-")}."
  }

  validation {
    condition = alltrue([
      for team in var.teams : !can(keys(team)) || try(lookup(team, "renotify_after_days", null) == null ? true : (team.renotify_after_days >= 1 && team.renotify_after_days <= 365 && floor(team.renotify_after_days) == team.renotify_after_days), false)
    ])
    error_message = "A team's renotify_after_days must be a whole number of days from 1 to 365, null to never send that team reminders, or left out (the module's renotify_after_days); refused: ${try(join(", ", [
      for i, team in var.teams : "teams[${i}] (${try(tostring(team.name), "no name")}): ${try(jsonencode(team.renotify_after_days), "-")}"
      if can(keys(team)) && !try(lookup(team, "renotify_after_days", null) == null ? true : (team.renotify_after_days >= 1 && team.renotify_after_days <= 365 && floor(team.renotify_after_days) == team.renotify_after_days), false)
    ]), "-")}."
  }

  validation {
    condition = alltrue(flatten([
      for team in var.teams : !can(keys(team)) ? [] : [
        for key in ["notify_on_resolved", "create_chat_topic", "count_only_fixable", "alert_on_exploitable"] : try(lookup(team, key, null) == null || can(tobool(team[key])), false)
      ]
    ]))
    error_message = "A team's notify_on_resolved, create_chat_topic, count_only_fixable and alert_on_exploitable must be true or false; refused: ${try(join(", ", flatten([
      for i, team in var.teams : [
        for key in ["notify_on_resolved", "create_chat_topic", "count_only_fixable", "alert_on_exploitable"] : "teams[${i}] (${try(tostring(team.name), "no name")}).${key}"
        if can(keys(team)) && !try(lookup(team, key, null) == null || can(tobool(team[key])), false)
      ]
    ])), "-")}."
  }

  validation {
    # Present (even null) means "given": whether a team's topic is created must be known when planning, and a
    # topic ARN created in the same configuration is unknown then, so the key's presence decides, not its value.
    condition = alltrue([
      for team in var.teams : !can(keys(team)) || try(!contains(keys(team), "sns_topic_arn") || can(regex("^arn:aws[a-zA-Z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\\.fifo)?$", team.sns_topic_arn)), false)
    ])
    error_message = "A team's sns_topic_arn must be an SNS topic ARN such as arn:aws:sns:eu-west-1:123456789012:payments-alerts; leave the key out (null is refused) to let the module create the team's topic <name_prefix>-<name>. Refused: ${try(join(", ", [
      for i, team in var.teams : "teams[${i}] (${try(tostring(team.name), "no name")})"
      if can(keys(team)) && !try(!contains(keys(team), "sns_topic_arn") || can(regex("^arn:aws[a-zA-Z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}(\\.fifo)?$", team.sns_topic_arn)), false)
    ]), "-")}."
  }

  validation {
    # As sns_topic_arn: the key's presence decides that the module creates no chat topic for the team.
    condition = alltrue([
      for team in var.teams : !can(keys(team)) || try(!contains(keys(team), "chat_topic_arn") || (can(regex("^arn:aws[a-zA-Z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", team.chat_topic_arn)) && !(lookup(team, "create_chat_topic", null) == null ? false : tobool(team.create_chat_topic))), false)
    ])
    error_message = "A team's chat_topic_arn must be a standard (not FIFO) SNS topic ARN such as arn:aws:sns:eu-west-1:210987654321:ecr-scan-hub-payments-chat (an organization hub's output team_chat_topic_arns), and comes without create_chat_topic = true: give the team's existing chat topic or let the module create one, not both; leave the key out (null is refused) when the team has no chat channel. Refused: ${try(join(", ", [
      for i, team in var.teams : "teams[${i}] (${try(tostring(team.name), "no name")})"
      if can(keys(team)) && !try(!contains(keys(team), "chat_topic_arn") || (can(regex("^arn:aws[a-zA-Z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$", team.chat_topic_arn)) && !(lookup(team, "create_chat_topic", null) == null ? false : tobool(team.create_chat_topic))), false)
    ]), "-")}."
  }

  validation {
    condition = alltrue([
      for team in var.teams : !can(keys(team)) || try(lookup(team, "email_subscriptions", null) == null ? true : alltrue([for email in team.email_subscriptions : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", email))]), false)
    ])
    error_message = "A team's email_subscriptions must be a list of email addresses such as payments-oncall@example.com; refused: ${try(join(", ", [
      for i, team in var.teams : "teams[${i}] (${try(tostring(team.name), "no name")})"
      if can(keys(team)) && !try(lookup(team, "email_subscriptions", null) == null ? true : alltrue([for email in team.email_subscriptions : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", email))]), false)
    ]), "-")}."
  }

  # A team's subscriptions: the checks of the module's subscriptions (see there), on every team's entries.
  # (The messages avoid {} and "(" in nested strings: checkov's HCL parser misreads them inside a template.)
  validation {
    condition = alltrue([
      for team in var.teams : !can(keys(team)) || try(alltrue([
        for name, subscription in merge({}, lookup(team, "subscriptions", null)) : alltrue([for key, value in subscription : contains(["protocol", "endpoint", "filter_policy", "filter_policy_scope", "raw_message_delivery", "subscription_role_arn"], key) && can(tostring(value))])
      ]), false)
    ])
    error_message = "A team's subscriptions must be a map of subscriptions by name, each a map of strings with the keys protocol, endpoint, filter_policy, filter_policy_scope, raw_message_delivery and subscription_role_arn (as the module's subscriptions); refused: ${try(join(", ", flatten([
      for i, team in var.teams : [
        for name in lookup(team, "subscriptions", null) == null ? [] : try(keys(team.subscriptions), ["not-a-map"]) : "teams[${i}] (${try(tostring(team.name), "no name")}).subscriptions.${name}"
        if !try(alltrue([for key, value in team.subscriptions[name] : contains(["protocol", "endpoint", "filter_policy", "filter_policy_scope", "raw_message_delivery", "subscription_role_arn"], key) && can(tostring(value))]), false)
      ] if can(keys(team))
    ])), "-")}."
  }

  validation {
    condition = alltrue(flatten([
      for team in var.teams : !can(keys(team)) ? [] : [
        for subscription in try(values(merge({}, lookup(team, "subscriptions", null))), []) : try(
          contains(["http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose"], lookup(subscription, "protocol", "-")) && trimspace(lookup(subscription, "endpoint", "")) != "" &&
          can(regex(lookup({
            http        = "^http://[^\\s]+$"
            https       = "^https://[^\\s]+$"
            email       = "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$"
            email-json  = "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$"
            sms         = "^\\+[1-9][0-9]{6,14}$"
            sqs         = "^arn:aws[a-zA-Z-]*:sqs:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,80}(\\.fifo)?$"
            application = "^arn:aws[a-zA-Z-]*:sns:[a-z0-9-]+:[0-9]{12}:endpoint/[^\\s]+$"
            lambda      = "^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9$_-]{1,128})?$"
            firehose    = "^arn:aws[a-zA-Z-]*:firehose:[a-z0-9-]+:[0-9]{12}:deliverystream/[A-Za-z0-9_.-]{1,64}$"
          }, subscription.protocol, "."), subscription.endpoint)),
          false
        )
      ]
    ]))
    error_message = "Each of a team's subscriptions needs a protocol (http, https, email, email-json, sms, sqs, application, lambda or firehose) and an endpoint that fits it, as the module's subscriptions: http/https a URL of that scheme, email/email-json an email address, sms a phone number in E.164 form, sqs a queue ARN, lambda a function ARN, firehose a delivery stream ARN, application a platform endpoint ARN."
  }

  validation {
    condition = alltrue(flatten([
      for team in var.teams : !can(keys(team)) ? [] : [
        for subscription in try(values(merge({}, lookup(team, "subscriptions", null))), []) : try(
          (!contains(keys(subscription), "filter_policy") ? true : (length(keys(jsondecode(subscription.filter_policy))) >= 1 && length(keys(jsondecode(subscription.filter_policy))) <= 5)) &&
          (lookup(subscription, "filter_policy_scope", "MessageAttributes") != "MessageAttributes" || !contains(keys(subscription), "filter_policy") ? true : alltrue([for value in values(jsondecode(subscription.filter_policy)) : !startswith(jsonencode(value), "{")])) &&
          (!contains(keys(subscription), "filter_policy_scope") ? true : (contains(["MessageAttributes", "MessageBody"], subscription.filter_policy_scope) && contains(keys(subscription), "filter_policy"))),
          false
        )
      ]
    ]))
    error_message = "A team's subscription filter_policy must be a JSON object of 1 to 5 top-level keys without nested objects (unless filter_policy_scope = \"MessageBody\"), and filter_policy_scope (MessageAttributes or MessageBody) is only accepted with a filter_policy, as for the module's subscriptions; messages to a team's topic also carry the attribute team."
  }

  validation {
    condition = alltrue(flatten([
      for team in var.teams : !can(keys(team)) ? [] : [
        for subscription in try(values(merge({}, lookup(team, "subscriptions", null))), []) : try(
          (!contains(keys(subscription), "raw_message_delivery") ? true : (contains(["true", "false"], tostring(subscription.raw_message_delivery)) && contains(["sqs", "http", "https", "firehose"], lookup(subscription, "protocol", "-")))) &&
          (lookup(subscription, "protocol", "-") == "firehose" ? can(regex("^arn:aws[a-zA-Z-]*:iam::[0-9]{12}:role/[^\\s]+$", lookup(subscription, "subscription_role_arn", ""))) : !contains(keys(subscription), "subscription_role_arn")),
          false
        )
      ]
    ]))
    error_message = "A team's subscription raw_message_delivery must be true or false and is offered only to sqs, http, https and firehose; a firehose subscription needs subscription_role_arn (an IAM role ARN), the other protocols take none (as for the module's subscriptions)."
  }

  validation {
    # One DynamoDB item (400 KB) holds every team's document.
    condition     = try(length(jsonencode(var.teams)) <= 350000, true)
    error_message = "The teams take more than 350,000 characters as JSON: they must fit one DynamoDB item (400 KB)."
  }
}

variable "team_tag_key" {
  description = "The ECR repository tag naming the team that owns a repository: a repository tagged `<team_tag_key> = <a team's name>` belongs to that team, whatever the teams' regexes say (a tag naming no team is ignored). Needs `teams`. The functions read a repository's tags with `ecr:ListTagsForResource` and keep them `team_tag_cache_seconds`. `null`: ownership by `repository_regex` only."
  type        = string
  default     = null

  validation {
    # AWS's tag key rules: 1-128 characters of letters, digits, spaces and _ . : / = + - @, not starting with aws:.
    condition     = var.team_tag_key == null || try(can(regex("^[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]{1,128}$", var.team_tag_key)) && !startswith(lower(var.team_tag_key), "aws:"), false)
    error_message = "team_tag_key must be a tag key of 1-128 characters (letters, digits, spaces and _ . : / = + - @) not starting with \"aws:\" (reserved by AWS), such as \"team\", or null."
  }
}

variable "team_tag_cache_seconds" {
  description = "How long (seconds, 0-3600) a function keeps a repository's tags once read: a changed `team_tag_key` tag takes effect within this time. `0`: read them for every scan result."
  type        = number
  default     = 300
  nullable    = false

  validation {
    condition     = var.team_tag_cache_seconds >= 0 && var.team_tag_cache_seconds <= 3600 && floor(var.team_tag_cache_seconds) == var.team_tag_cache_seconds
    error_message = "team_tag_cache_seconds must be a whole number of seconds from 0 to 3600."
  }
}

variable "module_topic_notifications" {
  description = "Which notifications the module's own topic receives once there are `teams`: `all` (every notification, the teams' too: the security team's view) or `unowned` (only those of repositories no team owns)."
  type        = string
  default     = "all"
  nullable    = false

  validation {
    condition     = contains(["all", "unowned"], var.module_topic_notifications)
    error_message = "module_topic_notifications must be \"all\" or \"unowned\"."
  }
}

variable "create_team_topics" {
  description = "Whether the module creates the topic `<name_prefix>-<name>` of each team that gives no `sns_topic_arn`. `null` (the default): yes, unless this deployment is the spoke of a central topic (`create_sns_topic = false` with `allow_external_sns_topic = true`, such as an organization hub's): a spoke creates no per-team topics unless asked, and a team without `sns_topic_arn` then gets its alerts on the module's topic, with the message attribute `team` (give the team the hub's topic instead: modules/hub's output `spoke_teams`). `true`: always create them; `false`: never (a team without `sns_topic_arn` uses the module's topic, and may have no subscriptions here). See docs/teams.md."
  type        = bool
  default     = null
}

variable "hub_report_bucket_name" {
  description = "A spoke of an organization hub (`modules/hub`, in the security account; docs/organization.md): the hub's report bucket (the hub module's output `report_bucket_name`, usually another account's), which each exposure report (JSON and HTML) is also written to, under `hub_report_prefix`, SSE-KMS with `hub_kms_key_arn` (which must then be given). The local report (the topic, `create_report_bucket`) is kept whatever the hub answers: a refused write is logged (`hub_report_not_stored`), counted (`HubReportsNotStored`) and alarmed. A name, known at plan time even when the hub is created in the same configuration. `null`: no hub."
  type        = string
  default     = null

  validation {
    # S3's general purpose bucket naming rules (as report_bucket_name).
    condition = var.hub_report_bucket_name == null || (
      can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", coalesce(var.hub_report_bucket_name, "-"))) &&
      !can(regex("\\.\\.|^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$|^(xn--|sthree-|amzn-s3-demo-)|(-s3alias|--ol-s3|\\.mrap|--x-s3|--table-s3)$", coalesce(var.hub_report_bucket_name, "-")))
    )
    error_message = "hub_report_bucket_name must follow S3's bucket naming rules: 3-63 characters of lower-case letters, digits, dots and hyphens, beginning and ending with a letter or digit, no two adjacent dots, not an IP address, no reserved prefix or suffix."
  }
}

variable "hub_kms_key_arn" {
  description = "A spoke of an organization hub (`modules/hub`; docs/organization.md): the ARN of the hub's customer-managed KMS key (the hub module's output `kms_key_arn`), which encrypts the hub's topics and its report bucket. The roles that publish to a topic of the hub's (one this deployment does not create, among `sns_topic_arn`, `chat_topic_arn` and the teams' `sns_topic_arn`, in the key's account and region: the hub's central topic, chat topic or a team topic it holds) get `kms:GenerateDataKey` and `kms:Decrypt` on it through SNS of the key's region; with `hub_report_bucket_name` (which needs it) the report role gets `kms:GenerateDataKey` through S3 and writes every object SSE-KMS with it, which the hub's bucket policy requires. A key in another account needs this grant in the caller's account as well as the hub's key policy: without it, SNS and S3 refuse every alert, report and record sent to the hub. Alone (alerts only, no hub bucket) it needs a topic of the hub's. A key ARN, not an alias (another account's alias cannot be named in a policy). `null`: no hub key."
  type        = string
  default     = null

  validation {
    condition     = var.hub_kms_key_arn == null || !can(regex("^arn:[^:]*:kms:[^:]*:[^:]*:alias/", coalesce(var.hub_kms_key_arn, "-")))
    error_message = "hub_kms_key_arn ${coalesce(var.hub_kms_key_arn, "-")} is an alias ARN: give the key's own ARN, arn:<partition>:kms:<region>:<account>:key/<key id> (the hub module's output kms_key_arn). IAM grants and the hub's bucket policy name keys, not aliases, and another account's alias cannot be resolved."
  }

  validation {
    condition     = var.hub_kms_key_arn == null || can(regex("^arn:[^:]*:kms:[^:]*:[^:]*:alias/", coalesce(var.hub_kms_key_arn, "-"))) || can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z]{2}(-[a-z]+)+-[0-9]:[0-9]{12}:key/[A-Za-z0-9-]{1,128}$", coalesce(var.hub_kms_key_arn, "-")))
    error_message = "hub_kms_key_arn must be a KMS key ARN, arn:<partition>:kms:<region>:<account>:key/<key id> (the hub module's output kms_key_arn), or null."
  }
}

variable "hub_report_prefix" {
  description = "Where in the hub's bucket this spoke writes: `<prefix>latest.json`, `<prefix>latest.html` and dated copies. `null` (the default): `<account>/<region>/`, the only prefix the hub's bucket policy lets this account's report function write and the one the organization report reads (its `expected_spokes` are `<account>/<region>`)."
  type        = string
  default     = null

  validation {
    condition     = var.hub_report_prefix == null || try(length(var.hub_report_prefix) <= 512 && can(regex("^([A-Za-z0-9!_.*'()-]+/)+$", var.hub_report_prefix)), false)
    error_message = "hub_report_prefix must be path segments of letters, digits and ! - _ . * ' ( ), each ending in / (such as 123456789012/eu-west-1/), at most 512 characters, or null for <account>/<region>/."
  }
}

variable "enable_security_hub_export" {
  description = "Export the images in breach to AWS Security Hub (this account and region) as ASFF findings through the account's default product subscription (`BatchImportFindings`): one finding per image and vulnerability, updated when it changes (the scan ledger keeps what was sent, so an identical rescan imports nothing), archived once the image is within its thresholds again or deleted from ECR, with its workflow set to RESOLVED (`BatchUpdateFindings` on this account's hub, Workflow.Status RESOLVED only; an EventBridge rule for image deletions, and `ecr:DescribeImages` to tell a deleted image from a removed tag). Security Hub must be enabled in the account and region; its cross-region aggregation and delegated administrator then give the organization view. See docs/securityhub.md."
  type        = bool
  default     = false
  nullable    = false
}
