// A typed clementine client on openapi-fetch, type-checked against the generated schema
// (src/schema.d.ts, from openapi/clementine.json). If the spec changes shape, this stops
// compiling.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

type Container = components["schemas"]["Container"];

export async function seedFlow(baseUrl: string, username: string, password: string): Promise<Container[]> {
  const anonymous = createClient<paths>({ baseUrl });
  const login = await anonymous.POST("/login", { body: { username, password } });
  if (!login.data) throw new Error(login.error?.error.message ?? "login failed");
  const token: string = login.data.data.token;
  const api = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });

  await api.POST("/engine", { body: { id: "e1", addr: "https://127.0.0.11:2376", labels: [] } });
  const run = await api.POST("/container", {
    params: { query: { count: 1 } },
    body: { name: "busybox:latest", args: ["sleep", "60"], volumes: ["data:/data"] },
  });
  if (run.error) throw new Error(`${run.error.error.code}: ${run.error.error.message}`);
  const list = await api.GET("/containers", { params: { query: { state: "running" } } });
  // The default answer carries each container's engine; `engines=ref` names it by id instead.
  const listing = list.data?.data;
  const containers: Container[] = listing && !("engine_records" in listing) ? listing.containers : [];
  for (const c of containers) {
    const logs = await api.GET("/engine/{id}/container/{cid}/logs", {
      params: { path: { id: c.engine.id, cid: c.id }, query: { tail: 10 } },
    });
    const lines: string[] = logs.data?.data.lines ?? [];
    void lines;
    await api.DELETE("/engine/{id}/container/{cid}", { params: { path: { id: c.engine.id, cid: c.id } } });
  }
  const events = await api.GET("/events", { params: { query: { action: "container.", limit: 10 } } });
  void events.data?.data.events.map((e) => e.action);
  return containers;
}
