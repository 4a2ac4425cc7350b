import { IsDefined, IsString } from 'class-validator';

/** Every message carries its credential (docs/API.md §6); the auth guard checks it before the handler runs. */
export class AuthorizedMessage {
  @IsDefined()
  @IsString()
  authorization: string;
}
