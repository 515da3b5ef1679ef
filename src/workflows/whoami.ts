// Who a bearer token is, as the API server sees it (a SelfSubjectReview, which any authenticated
// user may create and which changes nothing): the MCP server's passthrough auth answers 401 for a
// token the API server does not accept, before any tool runs, and names the caller in its logs.
import { KubeApiError, KubeClient } from "../kube/client.js";
import type { KubeConfigOptions } from "../kube/config.js";

export type WhoAmI = { ok: true; username: string } | { ok: false; reason: "unauthenticated" };

export async function whoAmI(
  options: KubeConfigOptions & { bearerToken: string },
): Promise<WhoAmI> {
  const client = await KubeClient.fromConfig(options);
  try {
    const review = await client.request<{ status?: { userInfo?: { username?: string } } }>(
      "POST",
      "/apis/authentication.k8s.io/v1/selfsubjectreviews",
      { body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" } },
    );
    return { ok: true, username: review.status?.userInfo?.username ?? "(unknown user)" };
  } catch (err) {
    if (err instanceof KubeApiError && err.code === 401)
      return { ok: false, reason: "unauthenticated" };
    throw err;
  } finally {
    client.close();
  }
}
