import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { ApiKeyService } from './api-key.service';
import { ApiKeyVerifier } from './api-key.verifier';
import { AuthController } from './auth.controller';
import { AuthGuard } from './auth.guard';
import { Authenticator } from './authenticator';
import { OidcIssuer } from './oidc-issuer';
import { ApiKeyStrategy } from './strategies/api-key.strategy';
import { JwtStrategy } from './strategies/jwt.strategy';
import { OAuth2Strategy } from './strategies/oauth2.strategy';
import { UserService } from './user.service';

/** Services without HTTP: what the CLI needs. */
@Module({
  imports: [PassportModule],
  providers: [UserService, ApiKeyService, ApiKeyVerifier, OidcIssuer, Authenticator, ApiKeyStrategy, JwtStrategy, OAuth2Strategy],
  exports: [UserService, ApiKeyService, OidcIssuer, Authenticator],
})
export class AuthCoreModule {}

/** Authentication for the HTTP app: the global default-deny guard and key management. */
@Module({
  imports: [AuthCoreModule],
  controllers: [AuthController],
  providers: [{ provide: APP_GUARD, useClass: AuthGuard }],
  exports: [AuthCoreModule],
})
export class AuthModule {}
