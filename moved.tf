# Addresses of earlier versions, moved when the `create` toggle put a count on the module's single resources: an
# upgrade moves them in the state instead of destroying and recreating them.

moved {
  from = aws_sqs_queue.work
  to   = aws_sqs_queue.work[0]
}

moved {
  from = aws_sqs_queue.dead_letter
  to   = aws_sqs_queue.dead_letter[0]
}

moved {
  from = aws_sqs_queue.failed_events
  to   = aws_sqs_queue.failed_events[0]
}

moved {
  from = aws_sqs_queue_policy.work
  to   = aws_sqs_queue_policy.work[0]
}

moved {
  from = aws_sqs_queue_policy.dead_letter
  to   = aws_sqs_queue_policy.dead_letter[0]
}

moved {
  from = aws_sqs_queue_policy.failed_events
  to   = aws_sqs_queue_policy.failed_events[0]
}

moved {
  from = aws_cloudwatch_event_rule.schedule
  to   = aws_cloudwatch_event_rule.schedule[0]
}

moved {
  from = aws_cloudwatch_event_rule.ecr_scan
  to   = aws_cloudwatch_event_rule.ecr_scan[0]
}

moved {
  from = aws_lambda_event_source_mapping.images
  to   = aws_lambda_event_source_mapping.images[0]
}
