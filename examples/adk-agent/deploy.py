"""Deploys the example agent to Vertex AI Agent Engine and prints the AGENT_ENGINE value.

    python deploy.py --project my-project --location us-central1 --bucket gs://my-staging-bucket
"""

import argparse

import vertexai
from vertexai import agent_engines

from whatsapp_agent.agent import root_agent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--project", required=True)
    parser.add_argument("--location", default="us-central1")
    parser.add_argument("--bucket", required=True, help="gs:// bucket for staging the agent's code")
    args = parser.parse_args()

    vertexai.init(project=args.project, location=args.location, staging_bucket=args.bucket)
    remote = agent_engines.create(
        agent_engine=agent_engines.AdkApp(agent=root_agent),
        requirements=["google-cloud-aiplatform[adk,agent_engines]", "pydantic"],
        extra_packages=["./whatsapp_agent"],
        display_name="whatsapp-bakery-assistant",
    )
    print(f"AGENT_ENGINE={remote.resource_name}")


if __name__ == "__main__":
    main()
