# A bad team value the hub must refuse at plan time with the root module's own rule (module.team_rules): this
# test FAILS on purpose. `terraform test` of tests/ does not run it; tests/terraform/test_hub_team_rules.py runs
# tests/refused/ and checks that each file fails with its rule's message (make tf-test).

mock_provider "aws" {
  source = "./tests/mocks/aws"
}

variables {
  organization_id    = "o-a1b2c3d4e5"
  spoke_regions      = ["eu-west-1"]
  report_bucket_name = "acme-security-ecr-reports"
}

run "names_duplicated" {
  command = plan
  variables {
    teams = [{ name = "payments", repository_regex = "^payments/" }, { name = "payments", repository_regex = "^pay/" }]
  }
}
