// The part of autocannon 8 the benchmarks use (the package ships no types).
declare module 'autocannon' {
  namespace autocannon {
    interface Request {
      headers?: Record<string, string>;
      [field: string]: unknown;
    }
    interface Options {
      url: string;
      connections?: number;
      duration?: number;
      amount?: number;
      overallRate?: number;
      headers?: Record<string, string>;
      requests?: Array<{ setupRequest?: (request: Request) => Request }>;
    }
    interface Latency {
      average: number;
      p50: number;
      p99: number;
      max: number;
    }
    interface Result {
      requests: { average: number; total: number };
      latency: Latency;
      non2xx: number;
      errors: number;
      timeouts: number;
      '2xx': number;
      '4xx': number;
    }
    type Instance = object;
    function track(
      instance: Instance,
      options?: { renderProgressBar?: boolean; renderResultsTable?: boolean; renderLatencyTable?: boolean },
    ): void;
  }
  function autocannon(options: autocannon.Options, callback: (error: Error | null, result: autocannon.Result) => void): autocannon.Instance;
  export = autocannon;
}
