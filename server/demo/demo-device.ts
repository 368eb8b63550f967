/** The one device of the demo rollout (its `qa` cohort lists it). */
export const DEMO_DEVICE = { deviceId: 'demo-qa-1', model: 'redmi-1s', version: '1.4.1' };
