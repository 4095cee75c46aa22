Feature: The module's Lambda functions run on a supported runtime
  Judges only the ecr-scan-reporter module's resources in your plan: those tagged terraform-module =
  ecr-scan-reporter (the module tags everything it creates); your own functions are not judged here.
  Deprecated runtimes get no security patches. The allowed runtimes are those AWS supported, with no deprecation
  date passed, when this check was written (November 2026): python3.12+
  (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html); update the list when AWS deprecates one.

  Scenario: The module's functions name a supported runtime
    Given I have aws_lambda_function defined
    When its tags includes an entry where terraform-module is ecr-scan-reporter
    Then it must contain runtime
    And its value must match the "^python3\.(1[2-9]|[2-9][0-9])$" regex
