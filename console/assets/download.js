// A download that needs the session's token (an XLSX or CSV): fetched with it, then handed to
// the browser under its name. A refusal throws the server's problem as an ApiError.
import { h, ApiError } from "./common.js";

export async function download(session, path, name) {
  const r = await fetch(path, { headers: { Authorization: `Bearer ${session.token}` } });
  if (!r.ok) throw new ApiError(r.status, await r.json().catch(() => ({})));
  const url = URL.createObjectURL(await r.blob());
  const a = h("a", { href: url, download: name });
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
