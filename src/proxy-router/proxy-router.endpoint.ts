/** Where the proxy-router is and how to authenticate to it (never logged, never shown). */
export interface ProxyRouterEndpoint {
  /** scheme://host:port */
  origin: string;
  /** A path prefix when the node sits behind a reverse proxy ("" otherwise). */
  basePath: string;
  /** The `Authorization` header value, when credentials are configured. */
  authorization?: string;
  /** Everything a log line must never contain. */
  secrets: string[];
}

export interface EndpointSettings {
  url: string;
  username?: string;
  password?: string;
}

/** Credentials come from PROXY_ROUTER_USERNAME/PASSWORD, or else from the URL's userinfo. */
export function endpointFrom(settings: EndpointSettings): ProxyRouterEndpoint {
  const url = new URL(settings.url);
  const username = settings.username ?? (url.username ? decodeURIComponent(url.username) : undefined);
  const password = settings.password ?? (url.password ? decodeURIComponent(url.password) : undefined);
  const token =
    username !== undefined || password !== undefined ? Buffer.from(`${username ?? ''}:${password ?? ''}`).toString('base64') : undefined;
  return {
    origin: url.origin,
    basePath: url.pathname.replace(/\/+$/, ''),
    authorization: token === undefined ? undefined : `Basic ${token}`,
    secrets: [settings.url, url.origin, url.host, password, token].filter((s): s is string => typeof s === 'string' && s !== ''),
  };
}
