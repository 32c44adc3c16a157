# The agents a message can reach: agent_engine (every number not in the map) and each number's
# in agent_engine_by_number. Only variables here, so the test in test/deploy can evaluate these
# locals with the real Terraform and no provider. agent_engine's own grants are worker_agent and
# webhook_agent in iam.tf; the map's other agents get theirs from number_agents below.

locals {
  agent_engine_pattern = "^projects/([^/]+)/locations/([^/]+)/reasoningEngines/([^/]+)$"

  # Each agent of the map that is not agent_engine, with its project, region and id.
  number_agents = {
    for engine in setsubtract(toset(values(var.agent_engine_by_number)), [var.agent_engine]) : engine => {
      project  = regex(local.agent_engine_pattern, engine)[0]
      location = regex(local.agent_engine_pattern, engine)[1]
      id       = regex(local.agent_engine_pattern, engine)[2]
    }
  }

  # With agent_iam_scope = "project": the map's agent projects other than agent_engine's.
  number_agent_projects = setsubtract(
    toset([for agent in values(local.number_agents) : agent.project]),
    [regex(local.agent_engine_pattern, var.agent_engine)[0]],
  )
}

locals {
  # Every project an agent of this deployment runs in: its Agent Engine service agent reads the
  # media bucket (media.tf).
  agent_projects = setunion(
    [regex(local.agent_engine_pattern, var.agent_engine)[0]],
    [for agent in values(local.number_agents) : agent.project],
  )
}
