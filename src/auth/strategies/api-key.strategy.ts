import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-http-bearer';
import { ApiKeyVerifier } from '../api-key.verifier';
import { Principal } from '../principal';

/** `sk-…` keys issued by this gateway. */
@Injectable()
export class ApiKeyStrategy extends PassportStrategy(Strategy, 'api-key') {
  constructor(private readonly verifier: ApiKeyVerifier) {
    super();
  }

  validate(token: string): Promise<Principal> {
    return this.verifier.verify(token);
  }
}
