/**
 * Scrubs the proxy-router's credentials and address out of text bound for a log line.
 * Nothing we write ever contains them; this is for texts we do not control (the node's
 * error messages could echo a header or a URL back).
 */
export class Redaction {
  private readonly secrets: string[];

  constructor(secrets: Array<string | undefined>) {
    // Longest first, so that a secret containing another is replaced whole.
    this.secrets = secrets.filter((s): s is string => typeof s === 'string' && s.length >= 3).sort((a, b) => b.length - a.length);
  }

  scrub(text: string): string {
    // Whole `Basic <token>` headers first, so no "Basic " prefix is left behind.
    let out = text.replace(/basic\s+[A-Za-z0-9+/=]+/gi, '[redacted]');
    for (const secret of this.secrets) out = out.split(secret).join('[redacted]');
    return out;
  }
}
