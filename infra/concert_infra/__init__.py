"""The concert platform's AWS deployment as a CDK app (issue 10): network, image registry, data, warehouse,
orchestration and streaming stacks, built per environment from `params`."""
