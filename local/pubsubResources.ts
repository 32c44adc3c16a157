import { PubSub } from '@google-cloud/pubsub';

export interface PubSubLayout {
  topic: string;
  deadLetterTopic: string;
  deadLetterSubscription: string;
  pushSubscription: string;
}

export function pubsubLayout(topic: string): PubSubLayout {
  return {
    topic,
    deadLetterTopic: `${topic}-dlq`,
    deadLetterSubscription: `${topic}-dlq-sub`,
    pushSubscription: `${topic}-worker`,
  };
}

/**
 * Creates what Terraform creates in the cloud: the inbound topic, an ordered push subscription
 * to the worker with retries and a dead-letter policy, and the dead-letter topic with a pull
 * subscription to inspect and replay from. Existing resources are left as they are.
 */
export async function ensurePubSubResources(options: {
  projectId: string;
  layout: PubSubLayout;
  pushEndpoint: string;
  maxDeliveryAttempts: number;
  ackDeadlineSeconds: number;
}): Promise<void> {
  const pubsub = new PubSub({ projectId: options.projectId });
  const { layout } = options;
  try {
    for (const name of [layout.topic, layout.deadLetterTopic]) {
      const [exists] = await pubsub.topic(name).exists();
      if (!exists) await pubsub.createTopic(name);
    }
    const [dlqSubExists] = await pubsub.subscription(layout.deadLetterSubscription).exists();
    if (!dlqSubExists) {
      await pubsub.topic(layout.deadLetterTopic).createSubscription(layout.deadLetterSubscription, {
        messageRetentionDuration: { seconds: 7 * 24 * 3600 },
      });
    }
    const push = pubsub.subscription(layout.pushSubscription);
    const [pushExists] = await push.exists();
    if (pushExists) {
      await push.modifyPushConfig({ pushEndpoint: options.pushEndpoint });
    } else {
      await pubsub.topic(layout.topic).createSubscription(layout.pushSubscription, {
        pushConfig: { pushEndpoint: options.pushEndpoint },
        enableMessageOrdering: true,
        ackDeadlineSeconds: options.ackDeadlineSeconds,
        deadLetterPolicy: {
          deadLetterTopic: pubsub.topic(layout.deadLetterTopic).name,
          maxDeliveryAttempts: options.maxDeliveryAttempts,
        },
        // Short backoff for local runs; Terraform sets the production policy.
        retryPolicy: { minimumBackoff: { seconds: 1 }, maximumBackoff: { seconds: 10 } },
      });
    }
  } finally {
    await pubsub.close();
  }
}
