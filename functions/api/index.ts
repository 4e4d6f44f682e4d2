// TEMPORARY placeholder so the CDK app synthesizes and bundles on this branch;
// the real handler from its own branch replaces this file at merge.
export const handler = async (): Promise<never> => {
  throw new Error('functions/api/index.ts is a placeholder, not the real handler');
};
