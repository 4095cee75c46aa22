# One role and one least-privilege inline policy per function. No action is a wildcard; resources are this account's
# and this region's ECR repositories, this module's queues, topic, log groups and key. The "*" resources are for
# actions that support no resource-level permission (the images policy's registry reads, X-Ray when Active).

locals {
  # IAM is global to the account: the region in the name keeps two regional deployments of one prefix apart.
  role_names = { for key in local.function_keys : key => "${var.name_prefix}-${local.region}-${key}" }

  logs_statements = {
    for key in local.function_keys : key => {
      Sid      = "WriteOwnLogs"
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource = ["${local.arns.log_groups[key]}:*"]
    }
  }

  # --- the customer key (kms_key_arn) -------------------------------------------------------------------------------
  # What kms_key_arn encrypts that a function reaches with its own credentials, by the service that then uses the
  # key for it (kms:ViaService). A role gets a grant on the key through a service only when one of its statements
  # names such a resource (or, for Lambda, always: every function's environment is under the key), with the key
  # operations its use needs: a new encrypted resource is listed here once, and the roles that use it follow.
  # CloudWatch Logs (the log groups) and EventBridge (dead-lettering) use the key as their own service principals:
  # the key policy's business, not the roles'.
  kms_encrypted_arns = var.kms_key_arn == null ? {} : {
    sqs      = [local.arns.work_queue, local.arns.dead_letter_queue, local.arns.failed_events_queue, local.inspector_findings_arns.queue, local.inspector_findings_arns.dlq]
    sns      = concat(local.create_topic ? [local.arns.topic] : [], var.create_chat_topic ? [local.chat_topic_policy_arn] : [], local.team_created_topic_arns)
    dynamodb = [local.ledger_table_arn]
    s3       = local.report_bucket ? [local.report_bucket_arn] : []
  }

  # The key operations each service performs with the caller's credentials (named one by one: no wildcard action).
  # SQS: a consumer Decrypt, a producer GenerateDataKey and Decrypt; SNS: a publisher GenerateDataKey and Decrypt;
  # DynamoDB: reads Decrypt and DescribeKey (the table key is decrypted with the caller's credentials), writes also
  # Encrypt and GenerateDataKey; S3: PutObject GenerateDataKey (single-part uploads: the report's objects are small);
  # Lambda: the execution role decrypts the environment.
  kms_key_operations = {
    sqs      = { read = ["kms:Decrypt"], write = ["kms:Decrypt", "kms:GenerateDataKey"] }
    sns      = { read = ["kms:Decrypt"], write = ["kms:Decrypt", "kms:GenerateDataKey"] }
    dynamodb = { read = ["kms:Decrypt", "kms:DescribeKey"], write = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"] }
    s3       = { read = ["kms:Decrypt"], write = ["kms:GenerateDataKey"] }
    lambda   = { read = ["kms:Decrypt"] }
  }
  # Actions that only read: any other action on an encrypted resource counts as a write (the larger grant), so an
  # action added later never leaves a role short of the key.
  kms_read_actions = [
    "sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage",
    "dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan",
    "s3:GetObject",
  ]
  kms_sids = { sqs = "SQS", sns = "SNS", dynamodb = "DynamoDB", s3 = "S3", lambda = "Lambda" }

  # The keys a role may be granted, by the name its statements' Sids carry: kms_key_arn (the module's, above) and
  # hub_kms_key_arn (the hub's: its topics and bucket, hub_report.tf), each with what it encrypts and its region
  # (kms:ViaService names the service of the key's region, where what it encrypts is). Lambda decrypts the
  # functions' environment with the module's key only.
  kms_keys = {
    Module = { arn = var.kms_key_arn, region = local.region, encrypted = local.kms_encrypted_arns, environment = var.kms_key_arn != null }
    Hub    = { arn = var.hub_kms_key_arn, region = try(local.hub_key[3], local.region), encrypted = local.hub_kms_encrypted_arns, environment = false }
  }
  # Every statement a role has on what the keys encrypt (the hub-report policy's included).
  kms_role_statements = {
    for key in local.function_keys : key => concat(local.policy_statements[key], lookup(local.ledger_statements, key, []), lookup(local.alerts_statements, key, []), lookup(local.teams_statements, key, []), lookup(local.hub_report_statements, key, []))
  }

  # Each role's actions on each key's encrypted resources, by service: a statement names a resource when one of its
  # resources is that ARN or under it (S3 objects "<bucket ARN>/<key>").
  kms_resource_actions = {
    for name, kms_key in local.kms_keys : name => {
      for key in local.function_keys : key => {
        for service, arns in kms_key.encrypted : service => distinct(flatten([
          for statement in local.kms_role_statements[key] : [
            for action in statement.Action : action if startswith(action, "${service}:")
          ] if statement.Effect == "Allow" && anytrue([for resource in statement.Resource : anytrue([for arn in arns : resource == arn || startswith(resource, "${arn}/")])])
        ]))
      }
    }
  }
  # key -> role -> service -> "read" | "write": what the role does with the key's resources of that service.
  kms_uses = {
    for name, kms_key in local.kms_keys : name => {
      for key in local.function_keys : key => merge(
        { for service, actions in local.kms_resource_actions[name][key] : service => alltrue([for action in actions : contains(local.kms_read_actions, action)]) ? "read" : "write" if length(actions) > 0 },
        kms_key.environment ? { lambda = "read" } : {},
      )
    }
  }
  kms_statements = {
    for key in local.function_keys : key => flatten([
      for name, kms_key in local.kms_keys : [
        for service, use in local.kms_uses[name][key] : {
          Sid      = "Use${name}KeyThrough${local.kms_sids[service]}"
          Effect   = "Allow"
          Action   = local.kms_key_operations[service][use]
          Resource = [kms_key.arn]
          # Only through that service: the role cannot decrypt arbitrary ciphertext with the key directly.
          Condition = { StringEquals = { "kms:ViaService" = "${service}.${kms_key.region}.${data.aws_partition.current.dns_suffix}" } }
        }
      ]
    ])
  }

  # tracing_mode = "Active": the functions send their trace segments. X-Ray's write actions support no resource-level
  # permission: AWS only accepts "*" for them.
  xray_statements = var.tracing_mode != "Active" ? [] : [{
    Sid      = "WriteTraces"
    Effect   = "Allow"
    Action   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    Resource = ["*"]
  }]

  policy_statements = {
    repositories = [
      {
        Sid      = "ListRepositories"
        Effect   = "Allow"
        Action   = ["ecr:DescribeRepositories"]
        Resource = [local.repository_arns]
      },
      {
        Sid      = "QueueWork"
        Effect   = "Allow"
        Action   = ["sqs:SendMessage"]
        Resource = [local.arns.work_queue]
      },
      {
        # The on-failure destination of this asynchronously invoked function is sent with its own role.
        Sid      = "ReportFailedInvocations"
        Effect   = "Allow"
        Action   = ["sqs:SendMessage"]
        Resource = [local.arns.failed_events_queue]
      },
    ]
    images = [
      {
        Sid      = "ScanImages"
        Effect   = "Allow"
        Action   = ["ecr:DescribeImages", "ecr:DescribeImageScanFindings", "ecr:StartImageScan"]
        Resource = [local.repository_arns]
      },
      {
        # Registry-level reads with no resource type in the Service Authorization Reference: AWS only accepts "*"
        # for them. Both are read-only: the scanning configuration tells basic from enhanced scanning, the account
        # setting BASIC_SCAN_TYPE_VERSION whether DescribeImages lists scan results (saves a lookup per image).
        Sid      = "ReadRegistryScanSettings"
        Effect   = "Allow"
        Action   = ["ecr:GetAccountSetting", "ecr:GetRegistryScanningConfiguration"]
        Resource = ["*"]
      },
      {
        # Receive/Delete/GetQueueAttributes for the event source mapping, ChangeMessageVisibility and SendMessage
        # (continuations) for the function itself.
        Sid    = "ConsumeWork"
        Effect = "Allow"
        Action = [
          "sqs:ChangeMessageVisibility",
          "sqs:DeleteMessage",
          "sqs:GetQueueAttributes",
          "sqs:ReceiveMessage",
          "sqs:SendMessage",
        ]
        Resource = [local.arns.work_queue]
      },
    ]
    findings = [
      {
        Sid      = "Notify"
        Effect   = "Allow"
        Action   = ["sns:Publish"]
        Resource = [local.topic_policy_arn]
      },
      {
        # For the failure reason of a FAILED scan.
        Sid      = "ReadScanFindings"
        Effect   = "Allow"
        Action   = ["ecr:DescribeImageScanFindings"]
        Resource = [local.repository_arns]
      },
      {
        Sid      = "ReportFailedInvocations"
        Effect   = "Allow"
        Action   = ["sqs:SendMessage"]
        Resource = [local.arns.failed_events_queue]
      },
    ]
    report = concat(
      [
        {
          # Records of repositories deleted since are left out of the report.
          Sid      = "ListRepositories"
          Effect   = "Allow"
          Action   = ["ecr:DescribeRepositories"]
          Resource = [local.repository_arns]
        },
        {
          Sid      = "PublishReport"
          Effect   = "Allow"
          Action   = ["sns:Publish"]
          Resource = [local.topic_policy_arn]
        },
        {
          Sid      = "ReportFailedInvocations"
          Effect   = "Allow"
          Action   = ["sqs:SendMessage"]
          Resource = [local.arns.failed_events_queue]
        },
      ],
      # Writes new report objects only: no read, list or delete of what is already stored.
      local.report_bucket ? [{
        Sid      = "WriteReports"
        Effect   = "Allow"
        Action   = ["s3:PutObject"]
        Resource = ["${local.report_bucket_arn}/${local.report_prefix}*"]
      }] : [],
    )
  }
}

resource "aws_iam_role" "this" {
  for_each = local.created_functions

  name                 = local.role_names[each.key]
  description          = "Execution role of the ecr-scan-reporter ${each.key} function (${var.name_prefix}, ${local.region})."
  permissions_boundary = var.permissions_boundary_arn
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = local.tags

  lifecycle {
    precondition {
      condition     = length(local.role_names[each.key]) <= 64
      error_message = "The IAM role name ${local.role_names[each.key]} is longer than IAM's 64 characters: shorten name_prefix."
    }
    precondition {
      # IAM is global (no region in the ARN); an AWS-managed policy has "aws" as its account.
      condition = var.permissions_boundary_arn == null || try(
        local.given_arns.permissions_boundary_arn[1] == local.partition && contains([local.account_id, "aws"], local.given_arns.permissions_boundary_arn[4]),
        false
      )
      error_message = "permissions_boundary_arn ${coalesce(var.permissions_boundary_arn, "-")} is in ${local.given_arn_places.permissions_boundary_arn}, but this deployment is in ${local.deployment}: give a managed policy of this partition and account (or an AWS-managed policy, account \"aws\"), or null."
    }
  }
}

resource "aws_iam_role_policy" "this" {
  for_each = local.created_functions

  name = "least-privilege"
  role = aws_iam_role.this[each.key].id
  # Each concern's statements by function; a function a concern does not name gets none from it.
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = concat(local.policy_statements[each.key], lookup(local.ledger_statements, each.key, []), lookup(local.alerts_statements, each.key, []), lookup(local.teams_statements, each.key, []), lookup(local.securityhub_statements, each.key, []), [local.logs_statements[each.key]], local.kms_statements[each.key], local.xray_statements)
  })
}
