"""End-to-end suite and its helpers: the module deployed by Terraform on moto (ECR) + ministack (the rest), or on
LocalStack (E2E_TARGET=localstack). The helpers are shared with ``demo/run.py``: one implementation of seeding,
the ECR event bridge, deployment and observation.
"""
