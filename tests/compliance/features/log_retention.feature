Feature: The module's logs expire
  Judges only the ecr-scan-reporter module's resources in your plan: those tagged terraform-module =
  ecr-scan-reporter (the module tags everything it creates); your own log groups are not judged here.
  Every log group keeps its events for a set number of days (never "never expire").

  Scenario: The module's log groups have a retention period
    Given I have aws_cloudwatch_log_group defined
    When its tags includes an entry where terraform-module is ecr-scan-reporter
    Then it must contain retention_in_days
    And its value must be greater than 0
