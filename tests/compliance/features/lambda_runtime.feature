Feature: Lambda functions run on a supported runtime
  Deprecated runtimes get no security patches. The allowed runtimes are those AWS supported, with no deprecation
  date passed, when this check was written (November 2026): python3.12+, nodejs22.x+, java21+, dotnet10+, ruby3.3+,
  provided.al2023 (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html); update the list when AWS
  deprecates one.

  Scenario: Every zip-packaged function names a supported runtime
    Given I have aws_lambda_function defined
    When its package_type is "Zip"
    Then it must contain runtime
    And its value must match the "^(python3\.(1[2-9]|[2-9][0-9])|nodejs(2[2-9]|[3-9][0-9])\.x|java(2[1-9]|[3-9][0-9])|dotnet([1-9][0-9])|ruby3\.[3-9]|provided\.al2023)$" regex
