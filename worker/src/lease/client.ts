/** The worker's tRPC client. Workers speak only HTTP to the coordinator, with a bearer token. */
import type { AppRouter } from '@ratchet/coordinator';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';

export function createClient(url: string, token: string) {
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${url.replace(/\/+$/, '')}/trpc`,
        headers: () => ({ authorization: `Bearer ${token}` }),
      }),
    ],
  });
}
export type Client = ReturnType<typeof createClient>;

/** The stable ratchet code of an API error, or null for transport failures. */
export function errorCode(e: unknown): string | null {
  if (e instanceof TRPCClientError) {
    const data = e.data as { ratchetCode?: string } | undefined;
    return data?.ratchetCode ?? null;
  }
  return null;
}
