export { RateLimitedError } from '../common/rate-limits';
